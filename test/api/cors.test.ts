import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config';
import { collect, newConversations, startTestParley, type TestParley } from '../support/parley';

/**
 * PARLEY_CORS_ORIGINS: browser apps on the listed origins may query (the
 * preflight lets them send Authorization and JSON) and subscribe (their
 * WebSocket upgrade is accepted); other origins get neither. Unset, the server
 * behaves as before: no CORS header, WebSockets from anywhere. Apollo's CSRF
 * prevention stays on either way.
 */

const APP = 'http://app.parley.test:5173';
const ADMIN = 'https://admin.parley.test';
const STRANGER = 'https://evil.parley.test';

function preflight(url: string, origin: string): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
}

function post(p: TestParley, origin: string, query: string, contentType = 'application/json'): Promise<Response> {
  return fetch(p.url, {
    method: 'POST',
    headers: { origin, 'content-type': contentType, authorization: `Bearer ${p.adminKey}` },
    body: JSON.stringify({ query }),
  });
}

/** Opens a WebSocket as a browser page on `origin` would; resolves with the upgrade's outcome. */
function upgrade(url: string, origin?: string): Promise<{ opened: true } | { opened: false; status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws', origin ? { origin } : {});
    ws.once('open', () => {
      ws.close();
      resolve({ opened: true });
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ opened: false, status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

describe('PARLEY_CORS_ORIGINS configuration', () => {
  it('is off by default and takes a comma-separated list of origins, normalized', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ PARLEY_CORS_ORIGINS: ' https://App.Example.com , http://localhost:5173/,https://app.example.com' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
  });

  it.each(['*', 'https://*.example.com', 'https://app.example.com/path', 'ftp://files.example.com', 'app.example.com'])('refuses %s at boot', (value) => {
    expect(() => loadConfig({ PARLEY_CORS_ORIGINS: value })).toThrow(/PARLEY_CORS_ORIGINS: .* is not an origin like https:\/\/app\.example\.com/);
  });
});

describe('CORS with an allowlist', () => {
  let parley: TestParley;
  beforeAll(async () => {
    parley = await startTestParley({ env: { PARLEY_CORS_ORIGINS: `${APP},${ADMIN}`, PARLEY_DEMO_TOKEN_DELAY_MS: '0' } });
  }, 120_000);
  afterAll(() => parley?.stop());

  it('answers a listed origin’s preflight: Authorization and JSON may be sent', async () => {
    const res = await preflight(parley.url, APP);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',');
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type']));
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toMatch(/origin/i);
  });

  it('lets a listed origin read the answer to its query', async () => {
    const res = await post(parley, ADMIN, '{ viewer { id } }');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ADMIN);
    expect(res.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(((await res.json()) as { data: unknown }).data).toEqual({ viewer: { id: expect.any(String) } });
  });

  it('gives any other origin no CORS header, so a browser lets it neither send nor read', async () => {
    const pre = await preflight(parley.url, STRANGER);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const res = await post(parley, STRANGER, '{ viewer { id } }');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps CSRF prevention on, for listed origins too', async () => {
    const res = await post(parley, APP, '{ viewer { id } }', 'text/plain');
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/i);
  });

  it('accepts WebSockets from listed origins, the server’s own pages and non-browser clients; refuses others with 403', async () => {
    const own = new URL(parley.url).origin;
    expect(await upgrade(parley.wsUrl, APP)).toEqual({ opened: true });
    expect(await upgrade(parley.wsUrl, own)).toEqual({ opened: true });
    expect(await upgrade(parley.wsUrl)).toEqual({ opened: true });
    expect(await upgrade(parley.wsUrl, STRANGER)).toEqual({ opened: false, status: 403 });
    expect(await upgrade(parley.wsUrl, 'null')).toEqual({ opened: false, status: 403 });
  });

  it('streams a run to a listed origin over graphql-ws', async () => {
    const [conversationId] = await newConversations(parley, parley.adminKey, 1);
    const sent = await parley.gql<{ sendMessage: { run: { id: string } } }>(
      'mutation($input: SendMessageInput!) { sendMessage(input: $input) { run { id } } }',
      { input: { conversationId, content: 'hi', model: 'demo/demo' } },
    );
    const runId = sent.data!.sendMessage.run.id;
    class BrowserOnApp extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { origin: APP });
      }
    }
    const client = createClient({
      url: parley.wsUrl,
      webSocketImpl: BrowserOnApp,
      connectionParams: { authorization: `Bearer ${parley.adminKey}` },
      retryAttempts: 0,
    });
    const events = await collect<{ runEvents: { __typename: string } }>(
      client,
      'subscription($id: ID!) { runEvents(runId: $id, after: 0) { __typename } }',
      { id: runId },
      () => false,
    );
    await client.dispose();
    const types = events.map((e) => e.data?.runEvents.__typename);
    expect(types).toContain('TokenDelta');
    expect(types[types.length - 1]).toBe('RunCompleted');
  });
});

describe('CORS without an allowlist (the default)', () => {
  let parley: TestParley;
  beforeAll(async () => {
    parley = await startTestParley();
  }, 120_000);
  afterAll(() => parley?.stop());

  it('sends no CORS header and accepts WebSockets from any origin, as before', async () => {
    const pre = await preflight(parley.url, APP);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const res = await post(parley, APP, '{ viewer { id } }');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(await upgrade(parley.wsUrl, STRANGER)).toEqual({ opened: true });
  });
});
