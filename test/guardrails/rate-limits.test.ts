import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { newConversations, startTestCluster, startTestParley, type GqlResult, type TestCluster, type TestParley } from '../support/parley';
import { RUN_EVENTS, SEND, type RunEventsData, type SendData } from '../runs/run-helpers';

const CONVERSATION = 'mutation { createConversation(input: { title: "limits" }) { conversation { id } } }';
const VIEWER = '{ viewer { id } }';
const CANCEL = 'mutation($input: CancelRunInput!) { cancelRun(input: $input) { run { id status } } }';

interface Answer<T = Record<string, unknown>> extends GqlResult<T> {
  status: number;
  retryAfter: string | null;
}

/** A POST to a node that keeps what the JSON body alone would lose: status and Retry-After. */
async function post<T = Record<string, unknown>>(
  node: TestParley,
  query: string,
  variables: Record<string, unknown> = {},
  opts: { token?: string; forwardedFor?: string } = {},
): Promise<Answer<T>> {
  const res = await fetch(node.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.forwardedFor ? { 'x-forwarded-for': opts.forwardedFor } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), ...((await res.json()) as GqlResult<T>) };
}

const refusedBy = (r: GqlResult) => (r.errors?.[0].extensions?.code === 'RATE_LIMITED' ? r.errors[0].extensions : undefined);

/** One graphql-ws operation: its first message (data or error) and everything it got once it ended. */
function open<T>(client: Client, query: string, variables: Record<string, unknown>) {
  const items: GqlResult<T>[] = [];
  let first!: (item: GqlResult<T>) => void;
  const firstItem = new Promise<GqlResult<T>>((resolve) => (first = resolve));
  let stop!: () => void;
  const ended = new Promise<GqlResult<T>[]>((resolve, reject) => {
    const push = (item: GqlResult<T>) => {
      items.push(item);
      first(item);
    };
    stop = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => push(value as GqlResult<T>),
        error: (err) => {
          if (!Array.isArray(err)) return reject(err as Error);
          push({ errors: err as GqlResult['errors'] });
          resolve(items);
        },
        complete: () => resolve(items),
      },
    );
  });
  return { first: firstItem, ended, stop };
}

/** Resolves with the close code of a raw socket. */
const closeCode = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

/**
 * Two API nodes on one database and one Redis prefix, no worker: accepted runs
 * stay QUEUED, so nothing depends on how fast runs execute. Every limit is
 * small so the boundaries are reached with a few requests; each test has its
 * own user, so their windows never meet.
 */
describe('rate limits and WebSocket limits across two API nodes', () => {
  let cluster: TestCluster;
  let a: TestParley;
  let b: TestParley;
  const env = {
    PARLEY_WORKER: 'off',
    PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: '5',
    PARLEY_RATE_LIMIT_QUERIES_PER_MINUTE: '20',
    PARLEY_RATE_LIMIT_MUTATIONS_PER_MINUTE: '30',
    PARLEY_RATE_LIMIT_SUBSCRIPTIONS_PER_MINUTE: '6',
    PARLEY_RATE_LIMIT_ANONYMOUS_PER_MINUTE: '5',
    PARLEY_MAX_SUBSCRIPTIONS_PER_SOCKET: '2',
    PARLEY_MAX_SUBSCRIPTIONS_PER_USER: '3',
    PARLEY_MAX_BODY_BYTES: '65536',
    PARLEY_WS_INIT_TIMEOUT_MS: '1500',
    PARLEY_TRUST_PROXY: 'loopback',
  };
  beforeAll(async () => {
    cluster = await startTestCluster(env);
    ({ a, b } = cluster);
  });
  afterAll(() => cluster?.stop());

  it('accepts exactly 5 of 10 concurrent run starts split over two nodes, and says when to retry', async () => {
    const { apiKey: token } = await a.newUser();
    const ids = await newConversations(a, token, 10); // one conversation each: the busy-branch rule stays out of it
    const results = await Promise.all(ids.map((conversationId, i) => post<SendData>(i % 2 ? b : a, SEND, { input: { conversationId, content: 'hi' } }, { token })));
    expect(results.filter((r) => r.data?.sendMessage)).toHaveLength(5);
    const refused = results.filter((r) => !r.data?.sendMessage);
    expect(refused).toHaveLength(5);
    for (const r of refused) {
      expect(refusedBy(r)).toMatchObject({ limit: 'runsPerMinute', scope: 'user', limitPerMinute: 5 });
      expect(refusedBy(r)!.retryAfterMs).toBeGreaterThan(0);
      expect(refusedBy(r)!.retryAfterMs).toBeLessThanOrEqual(60_000);
      // A field-level refusal is a partial answer: 200, with the header all the same.
      expect(r.status).toBe(200);
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
    }
  });

  it('limits queries per user exactly across nodes (429, Retry-After), apart from mutations', async () => {
    const { apiKey: token } = await a.newUser();
    const results = await Promise.all(Array.from({ length: 26 }, (_, i) => post(i % 2 ? b : a, VIEWER, {}, { token })));
    expect(results.filter((r) => r.data?.viewer)).toHaveLength(20);
    const refused = results.filter((r) => !r.data?.viewer);
    expect(refused).toHaveLength(6);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(refusedBy(r)).toMatchObject({ limit: 'queriesPerMinute', scope: 'user', limitPerMinute: 20 });
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(Math.floor(Number(refusedBy(r)!.retryAfterMs) / 1000));
    }
    // Refused again for the rest of the window (from the node's memory of the refusal, before authentication)…
    const again = await post(a, VIEWER, {}, { token });
    expect(again.status).toBe(429);
    expect(refusedBy(again)).toMatchObject({ limit: 'queriesPerMinute', scope: 'user', retryAfterMs: expect.any(Number) });
    expect(Number(again.retryAfter)).toBeGreaterThan(0);
    // …while another class has its own window.
    expect((await post(b, CONVERSATION, {}, { token })).data).toBeTruthy();
  });

  it('limits mutations per user exactly across nodes, apart from queries', async () => {
    const { apiKey: token } = await a.newUser();
    const results = await Promise.all(Array.from({ length: 34 }, (_, i) => post(i % 2 ? b : a, CONVERSATION, {}, { token })));
    expect(results.filter((r) => r.data)).toHaveLength(30);
    for (const r of results.filter((x) => !x.data)) {
      expect(r.status).toBe(429);
      expect(refusedBy(r)).toMatchObject({ limit: 'mutationsPerMinute', scope: 'user', limitPerMinute: 30, retryAfterMs: expect.any(Number) });
    }
    expect((await post(a, VIEWER, {}, { token })).data?.viewer).toBeTruthy();
  });

  it('limits anonymous requests per client address (X-Forwarded-For from a trusted proxy)', async () => {
    const flood = await Promise.all(Array.from({ length: 8 }, (_, i) => post(i % 2 ? b : a, '{ __typename }', {}, { forwardedFor: '203.0.113.7' })));
    expect(flood.filter((r) => r.data)).toHaveLength(5);
    for (const r of flood.filter((x) => !x.data)) expect(refusedBy(r)).toMatchObject({ limit: 'anonymousPerMinute', scope: 'ip', retryAfterMs: expect.any(Number) });
    expect((await post(a, '{ __typename }', {}, { forwardedFor: '203.0.113.8' })).data).toBeTruthy();
    const { apiKey: token } = await a.newUser();
    expect((await post(a, VIEWER, {}, { token, forwardedFor: '203.0.113.7' })).data?.viewer).toBeTruthy();
  });

  it('refuses a flooding user while a quiet user goes on being served', async () => {
    const flooder = (await a.newUser()).apiKey;
    const quiet = (await a.newUser()).apiKey;
    const [flood, calm] = await Promise.all([
      Promise.all(Array.from({ length: 80 }, (_, i) => post(i % 2 ? b : a, VIEWER, {}, { token: flooder }))),
      (async () => {
        const answers: Answer[] = [];
        for (let i = 0; i < 10; i++) answers.push(await post(i % 2 ? b : a, VIEWER, {}, { token: quiet }));
        return answers;
      })(),
    ]);
    expect(flood.filter((r) => r.data?.viewer)).toHaveLength(20);
    expect(flood.filter((r) => refusedBy(r))).toHaveLength(60);
    expect(calm.map((r) => r.errors ?? [])).toEqual(calm.map(() => []));
  });

  it('limits subscriptions opened per minute; a refusal ends that operation only', async () => {
    const { apiKey: token } = await a.newUser();
    const client = a.ws(token);
    const missing = { runId: randomUUID(), after: 0 };
    // Each of these ends at once (NOT_FOUND), so no concurrency cap is involved.
    for (let i = 0; i < 6; i++) {
      const items = await open<RunEventsData>(client, RUN_EVENTS, missing).ended;
      expect(items[0].errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
    const refused = await open<RunEventsData>(client, RUN_EVENTS, missing).ended;
    expect(refusedBy(refused[0])).toMatchObject({ limit: 'subscriptionsPerMinute', scope: 'user', limitPerMinute: 6, retryAfterMs: expect.any(Number) });
    expect((await post(a, VIEWER, {}, { token })).data?.viewer).toBeTruthy();
  });

  it('caps subscriptions per socket and per user over both nodes, keeping the socket and its other subscriptions', async () => {
    const { apiKey: token } = await a.newUser();
    const [conversationId] = await newConversations(a, token, 1);
    const runId = (await post<SendData>(a, SEND, { input: { conversationId, content: 'hi' } }, { token })).data!.sendMessage.run.id;
    const onA = a.ws(token);
    const onB = b.ws(token);
    const watch = (client: Client) => open<RunEventsData>(client, RUN_EVENTS, { runId, after: 0 });

    const held = [watch(onA), watch(onA)];
    for (const w of held) expect((await w.first).data?.runEvents.seq).toBe(1); // the queued run's first event: admitted
    expect(refusedBy(await watch(onA).first)).toMatchObject({ limit: 'subscriptionsPerSocket', maxSubscriptions: 2 });

    held.push(watch(onB));
    expect((await held[2].first).data?.runEvents.seq).toBe(1);
    expect(refusedBy(await watch(onB).first)).toMatchObject({ limit: 'subscriptionsPerUser', maxSubscriptions: 3 });

    // The held ones live on: they see the run end, and then their slots are free again.
    await post(a, CANCEL, { input: { runId } }, { token });
    for (const w of held) expect((await w.ended).at(-1)?.data?.runEvents.__typename).toBe('RunCancelled');
    const [again] = await newConversations(a, token, 1);
    const next = (await post<SendData>(a, SEND, { input: { conversationId: again, content: 'hi' } }, { token })).data!.sendMessage.run.id;
    const reopened = open<RunEventsData>(onB, RUN_EVENTS, { runId: next, after: 0 });
    expect((await reopened.first).data?.runEvents.seq).toBe(1);
    reopened.stop();
  });

  it('closes a socket whose message is over the body limit with 1009, as HTTP answers 413 for the same size', async () => {
    const size = 65536 + 1024;
    const http = await fetch(a.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ __typename } #${'x'.repeat(size)}` }) });
    expect(http.status).toBe(413);

    const ws = new WebSocket(a.wsUrl, 'graphql-transport-ws');
    const closed = closeCode(ws);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { padding: 'x'.repeat(size) } })));
    expect(await closed).toBe(1009);
  });

  it('closes a socket that sends no connection_init in time (4408)', async () => {
    const ws = new WebSocket(a.wsUrl, 'graphql-transport-ws');
    expect(await closeCode(ws)).toBe(4408);
  });
});

/** One node, no trusted proxy, a per-API-key limit below the per-user one. */
describe('rate limits per API key, and anonymous clients behind no trusted proxy', () => {
  let p: TestParley;
  beforeAll(async () => {
    p = await startTestParley({
      redis: true,
      env: { PARLEY_RATE_LIMIT_QUERIES_PER_MINUTE: '8', PARLEY_RATE_LIMIT_API_KEY_PER_MINUTE: '5', PARLEY_RATE_LIMIT_ANONYMOUS_PER_MINUTE: '3' },
    });
  });
  afterAll(() => p?.stop());

  it('limits each API key, and the user over all of its keys', async () => {
    const { apiKey: first } = await p.newUser();
    const newKey = async () =>
      (await post<{ createApiKey: { apiKey: string } }>(p, 'mutation { createApiKey(input: { name: "more" }) { apiKey } }', {}, { token: first })).data!.createApiKey.apiKey;
    const second = await newKey();
    const third = await newKey(); // two of the first key's 5

    const one = await Promise.all(Array.from({ length: 4 }, () => post(p, VIEWER, {}, { token: first })));
    expect(one.filter((r) => r.data?.viewer)).toHaveLength(3);
    expect(refusedBy(one.find((r) => !r.data)!)).toMatchObject({ limit: 'apiKeyPerMinute', scope: 'apiKey', limitPerMinute: 5 });

    // The user has drawn 4 of its 8 queries (the refused one too): the second key gets the other 4.
    const two = await Promise.all(Array.from({ length: 5 }, () => post(p, VIEWER, {}, { token: second })));
    expect(two.filter((r) => r.data?.viewer)).toHaveLength(4);
    expect(refusedBy(two.find((r) => !r.data)!)).toMatchObject({ limit: 'queriesPerMinute', scope: 'user' });
    // A third key buys no more.
    expect(refusedBy(await post(p, VIEWER, {}, { token: third }))).toMatchObject({ limit: 'queriesPerMinute', scope: 'user' });
  });

  it('ignores X-Forwarded-For unless a proxy is trusted', async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => post(p, '{ __typename }', {}, { forwardedFor: `198.51.100.${i}` })));
    expect(answers.filter((r) => r.data)).toHaveLength(3);
    expect(refusedBy(answers.find((r) => !r.data)!)).toMatchObject({ limit: 'anonymousPerMinute', scope: 'ip' });
  });
});
