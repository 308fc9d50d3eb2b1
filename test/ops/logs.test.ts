import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { collect, startTestParley, type TestParley } from '../support/parley';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai';
import { RUN_EVENTS, type RunEventsData } from '../runs/run-helpers';
import { createLogger, maskCredentials, prettyByDefault } from '../../src/logger';
import { requestScope } from '../../src/observability/request-scope';
import { LogCapture, eventually, newConversation, send } from './ops-helpers';

const JWT_SECRET = `jwt-secret-${randomBytes(24).toString('hex')}`;
/** Shaped like the real ones (an OpenAI project key, a Groq key), so upstream text that echoes them is recognisable. */
const OPENAI_KEY = `sk-proj-${randomBytes(24).toString('base64url')}`;
const PROVIDER_KEY = `gsk_${randomBytes(24).toString('base64url')}`;
const WRONG_KEY = `pk_${randomBytes(32).toString('base64url')}`;

const jwt = (sub: string, secret = JWT_SECRET) =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(secret));

type Line = Record<string, unknown> & { msg: string; level: number };

describe('logs of a node through a full session (trace level, captured)', () => {
  const capture = new LogCapture();
  let fake: FakeOpenAI;
  let p: TestParley;
  let user: { id: string; apiKey: string };
  let token: string;
  let wrongToken: string;
  const runs: Record<string, string> = {};

  const lines = () => capture.entries() as Line[];
  const access = (match: Record<string, unknown>) => lines().filter((l) => l.msg === 'graphql operation' && Object.entries(match).every(([k, v]) => l[k] === v));

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    p = await startTestParley({
      logger: createLogger('trace', { destination: capture, pretty: false }),
      env: {
        PARLEY_DEMO_TOKEN_DELAY_MS: '1',
        JWT_SECRET,
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: OPENAI_KEY,
        PARLEY_PROVIDERS: JSON.stringify({ groq: { baseUrl: fake.url, apiKey: PROVIDER_KEY, maxRetries: 0 } }),
      },
    });
    user = await p.newUser();
    token = await jwt(user.id);
    wrongToken = await jwt(user.id, `not-the-secret-${randomBytes(16).toString('hex')}`);
    const conversationId = await newConversation(p, user.apiKey);

    // A demo run, sent with a request id of the caller's and streamed over WebSocket with the API key.
    const demo = await send(p, user.apiKey, { conversationId, content: 'Hello, logs!' }, { 'x-request-id': 'req-demo-run' });
    runs.demo = demo.run.id;
    await collect<RunEventsData>(p.ws(user.apiKey), RUN_EVENTS, { runId: demo.run.id, after: 0 }, () => false);

    // Authenticated by JWT, over HTTP and over WebSocket.
    expect((await p.gql<{ viewer: { id: string } }>('query Me { viewer { id } }', {}, token)).data?.viewer.id).toBe(user.id);
    const jwtSocket = p.ws(token);
    expect((await collect<{ viewer: { id: string } }>(jwtSocket, 'query { viewer { id } }', {}, (items) => items.length === 1))[0].data?.viewer.id).toBe(user.id);

    // Failed authentication: a wrong key and a forged JWT over HTTP, a wrong key over WebSocket.
    expect((await p.gql('query Me { viewer { id } }', {}, WRONG_KEY)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await p.gql('query Me { viewer { id } }', {}, wrongToken)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const refused = createClient({ url: p.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${WRONG_KEY}` }, retryAttempts: 0, lazy: true });
    await expect(collect(refused, 'query { viewer { id } }', {}, () => true)).rejects.toMatchObject({ code: 4403 });
    await refused.dispose();

    // Runs on providers configured with keys: one answers, one fails with an error that echoes the key.
    fake.enqueue({ kind: 'stream', text: ['Hi ', 'there'], usage: { promptTokens: 5, completionTokens: 2 } });
    const ok = await send(p, user.apiKey, { conversationId: await newConversation(p, user.apiKey), content: 'hi', model: 'groq/llama-test' });
    runs.provider = ok.run.id;
    await collect<RunEventsData>(p.ws(user.apiKey), RUN_EVENTS, { runId: ok.run.id, after: 0 }, () => false);
    fake.enqueue({ kind: 'status', status: 401, body: { error: { message: `Incorrect API key provided: ${OPENAI_KEY}. Authorization: Bearer ${OPENAI_KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' } } });
    const failing = await send(p, user.apiKey, { conversationId: await newConversation(p, user.apiKey), content: 'hi', model: 'openai/gpt-test' }, { 'x-request-id': 'req-failing-run' });
    runs.failed = failing.run.id;
    const events = await collect<RunEventsData>(p.ws(user.apiKey), RUN_EVENTS, { runId: failing.run.id, after: 0 }, () => false);
    expect(events.at(-1)?.data?.runEvents.__typename).toBe('RunFailed');
    // Lines are written as things happen; the WebSocket operations' lines when their sockets close.
    await p.stop();
  }, 60_000);
  afterAll(() => fake?.close());

  it('the configured keys were really used upstream', () => {
    expect(fake.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${PROVIDER_KEY}`, `Bearer ${OPENAI_KEY}`]);
  });

  it('never logs a secret: API keys, JWTs, the JWT secret, provider keys, Authorization headers, connectionParams', () => {
    const text = capture.text();
    expect(capture.lines.length).toBeGreaterThan(20);
    const secrets = { admin: p.adminKey, user: user.apiKey, jwt: token, wrongJwt: wrongToken, jwtSecret: JWT_SECRET, openai: OPENAI_KEY, provider: PROVIDER_KEY, wrongKey: WRONG_KEY };
    for (const [name, secret] of Object.entries(secrets)) {
      // The whole secret, and its tail (what survives a prefix being masked).
      expect({ name, found: text.includes(secret) || text.includes(secret.slice(-12)) }).toEqual({ name, found: false });
    }
    expect(text).not.toMatch(/connectionParams":\{/);
    expect(text).not.toMatch(/"authorization":"Bearer/i);
  });

  it('writes one access line per GraphQL operation, over HTTP and WebSocket', () => {
    const [sent] = access({ requestId: 'req-demo-run' });
    expect(sent).toMatchObject({ level: 30, transport: 'http', operation: 'sendMessage', type: 'mutation', outcome: 'ok', status: 200, userId: user.id });
    expect(sent.durationMs).toEqual(expect.any(Number));
    expect(access({ requestId: 'req-demo-run' })).toHaveLength(1);

    const streams = access({ transport: 'ws', operation: 'runEvents', type: 'subscription', outcome: 'ok', userId: user.id });
    expect(streams).toHaveLength(3);
    for (const s of streams) expect(s.requestId).toEqual(expect.any(String));

    expect(access({ transport: 'http', operation: 'Me', outcome: 'ok', userId: user.id })).toHaveLength(1);
    expect(access({ transport: 'ws', operation: 'viewer', type: 'query', outcome: 'ok', userId: user.id })).toHaveLength(1);
    const refused = access({ transport: 'http', operation: 'Me', outcome: 'UNAUTHENTICATED' });
    expect(refused).toHaveLength(2);
    for (const r of refused) expect(r.userId).toBeUndefined();
    // Every access line has a request id of its own, and the response said which.
    const ids = access({}).map((l) => l.requestId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
  });

  it('writes run lifecycle lines with the run id and, for a failure, its reason', () => {
    for (const runId of [runs.demo, runs.provider]) {
      expect(lines().filter((l) => l.runId === runId && l.msg === 'run started')).toHaveLength(1);
      expect(lines().filter((l) => l.runId === runId && l.msg === 'run completed')).toEqual([expect.objectContaining({ status: 'COMPLETED', previousStatus: 'IN_PROGRESS' })]);
    }
    const failed = lines().filter((l) => l.runId === runs.failed && l.msg === 'run failed');
    expect(failed).toEqual([expect.objectContaining({ level: 40, status: 'FAILED', reason: 'UPSTREAM_ERROR' })]);
    expect(String(failed[0].error)).toMatch(/401/);
  });

  it('a run\u2019s lines carry the id of the request that started it, and so do its warnings and errors', () => {
    const ofRun = lines().filter((l) => l.runId === runs.failed);
    expect(ofRun.map((l) => l.msg)).toEqual(expect.arrayContaining(['run started', 'run failed upstream', 'run failed']));
    for (const l of ofRun) expect(l.requestId).toBe('req-failing-run');
    // The upstream's own words are kept for the operator, its key masked.
    expect(String(ofRun.find((l) => l.msg === 'run failed upstream')?.upstream)).toMatch(/Incorrect API key provided: sk-\*\*\*/);
    // Failed authentications are warned about per request.
    const authFailures = lines().filter((l) => l.msg === 'authentication failed');
    expect(authFailures.length).toBeGreaterThanOrEqual(2);
    for (const l of authFailures) expect(l.requestId).toEqual(expect.any(String));
  });
});

describe('the logger', () => {
  it('stamps the current request id on lines of the root logger, once', () => {
    const capture = new LogCapture();
    const root = createLogger('info', { destination: capture, pretty: false });
    requestScope.run({ requestId: 'req-1' }, () => {
      root.error({ err: new Error('boom') }, 'failed');
      root.child({ requestId: 'req-1' }).warn('bound child');
      root.info({ requestId: 'explicit' }, 'explicit id');
    });
    root.info('outside');
    const [failed, child, explicit, outside] = capture.entries();
    expect(failed).toMatchObject({ requestId: 'req-1', msg: 'failed' });
    expect(capture.lines[1].match(/"requestId"/g)).toHaveLength(1);
    expect(child).toMatchObject({ requestId: 'req-1' });
    expect(explicit).toMatchObject({ requestId: 'explicit' });
    expect(capture.lines[2].match(/"requestId"/g)).toHaveLength(1);
    expect(outside.requestId).toBeUndefined();
  });

  it('redacts credentials by key and masks them inside error text', () => {
    const capture = new LogCapture();
    const log = createLogger('debug', { destination: capture, pretty: false });
    const key = `pk_${randomBytes(20).toString('base64url')}`;
    log.info({ headers: { authorization: `Bearer ${key}` }, connectionParams: { authorization: key }, config: { openaiApiKey: 'sk-live-abcdefghij' }, apiKey: key }, 'request');
    log.error({ err: new Error(`upstream said: Authorization: Bearer ${key}; key sk-live-abcdefghij; token eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl`) }, 'failed');
    const text = capture.text();
    expect(text).not.toContain(key);
    expect(text).not.toContain('sk-live-abcdefghij');
    expect(text).not.toContain('eyJzdWIiOi');
    expect(capture.entries()[0]).toMatchObject({ headers: { authorization: '[redacted]' }, connectionParams: '[redacted]', config: { openaiApiKey: '[redacted]' }, apiKey: '[redacted]' });
    expect(maskCredentials('Bearer abc.def pk_abcdefgh')).toBe('Bearer *** pk_***');
  });

  it('prints readable lines in a terminal outside production, JSON otherwise', () => {
    expect(prettyByDefault({ isTTY: true }, { NODE_ENV: 'development' })).toBe(true);
    expect(prettyByDefault({ isTTY: true }, { NODE_ENV: 'production' })).toBe(false);
    expect(prettyByDefault({ isTTY: false }, {})).toBe(false);
    const capture = new LogCapture();
    const log = createLogger('info', { destination: capture, pretty: true });
    log.info({ runId: 'r1', attempt: 2 }, 'run started');
    log.error({ err: new Error('boom') }, 'failed');
    expect(capture.lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}run started runId=r1 attempt=2$/);
    expect(capture.lines[1]).toMatch(/ERROR failed$/);
    expect(capture.lines[2]).toMatch(/^ {4}Error: boom$/);
  });
});

describe('anonymous operations', () => {
  it('get an access line too, named by their first field', async () => {
    const capture = new LogCapture();
    const p = await startTestParley({ logger: createLogger('info', { destination: capture, pretty: false }) });
    try {
      const res = await fetch(p.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ __typename }"}' });
      expect(res.status).toBe(200);
      await eventually('the access line', () => capture.entries().some((l) => l.msg === 'graphql operation' && l.operation === '__typename' && l.outcome === 'ok' && l.userId === undefined));
    } finally {
      await p.stop();
    }
  });
});
