import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai';
import { startTestParley, type GqlResult, type TestParley } from '../support/parley';
import { RUN_EVENTS, SEND, type SendData } from '../runs/run-helpers';

/** The same events, another shape: aliases, a named fragment on the interface, one on a type, nested usage. */
const OTHER_SHAPE = `subscription Other($runId: ID!, $after: Int) { e: runEvents(runId: $runId, after: $after) {
  kind: __typename ...head ... on TokenDelta { piece: text } ... on RunCompleted { usage { totalTokens } } } }
  fragment head on RunEvent { seq }`;
/** A directive leaves the shape to graphql-js execute: its results are the reference for the shared path. */
const EXECUTED = RUN_EVENTS.replace('__typename seq runId at', '__typename seq runId at @include(if: true)');

interface Watch {
  items: GqlResult<Record<string, Record<string, unknown>>>[];
  /** The first event is in: the subscription is attached. */
  first: Promise<void>;
  /** Resolves with how it ended: 'complete' or the error payload. */
  ended: Promise<unknown>;
}

function watch(client: Client, query: string, variables: Record<string, unknown>): Watch {
  const items: Watch['items'] = [];
  let seen!: () => void;
  let settle!: (how: unknown) => void;
  const first = new Promise<void>((resolve) => (seen = resolve));
  const ended = new Promise<unknown>((resolve) => (settle = resolve));
  client.subscribe(
    { query, variables },
    {
      next: (v) => {
        items.push(v as Watch['items'][number]);
        seen();
      },
      error: (err) => {
        settle(err);
        seen();
      },
      complete: () => {
        settle('complete');
        seen();
      },
    },
  );
  return { items, first, ended };
}

const seqs = (w: Watch, key = 'runEvents') => w.items.map((i) => i.data?.[key]?.seq);

describe('runEvents subscriptions sharing one run', () => {
  let fake: FakeOpenAI;
  let p: TestParley;
  const clients: Client[] = [];
  /** A socket that stays open without subscriptions (the test helper's closes once it has none). */
  const socket = (key: string) => {
    const client = createClient({ url: p.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0, lazy: false });
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    p = await startTestParley({
      redis: true,
      countQueries: true,
      env: { PARLEY_PROVIDERS: JSON.stringify({ up: { baseUrl: fake.url, apiKey: 'x' } }), PARLEY_MAX_SUBSCRIPTIONS_PER_USER: '1000', PARLEY_MAX_SUBSCRIPTIONS_PER_SOCKET: '200' },
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await p?.stop();
    await fake?.close();
  });

  /** Starts a run of the fake upstream held before its first token until `release` is called. */
  async function heldRun(key: string, tokens: string[]) {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    fake.enqueue({ kind: 'stream', text: tokens, hold: { chunks: 1, until: released }, usage: { promptTokens: 3, completionTokens: tokens.length } });
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>(
      'mutation { createConversation(input: { title: "shared", settings: { model: "up/m" } }) { conversation { id } } }',
      {},
      key,
    );
    const sent = await p.gql<SendData>(SEND, { input: { conversationId: c.data!.createConversation.conversation.id, content: 'hi' } }, key);
    if (!sent.data) throw new Error(JSON.stringify(sent.errors));
    return { runId: sent.data.sendMessage.run.id, release };
  }

  it('every subscriber gets every event once and in order, whatever its shape, as graphql-js would execute it', async () => {
    const tokens = Array.from({ length: 60 }, (_, i) => `t${i} `);
    const { runId, release } = await heldRun(p.adminKey, tokens);
    const sockets = [p.ws(), p.ws(), p.ws()];
    const full = Array.from({ length: 12 }, (_, i) => watch(sockets[i % 3], RUN_EVENTS, { runId, after: 0 }));
    const other = Array.from({ length: 6 }, (_, i) => watch(sockets[i % 3], OTHER_SHAPE, { runId, after: 0 }));
    const executed = watch(sockets[0], EXECUTED, { runId, after: 0 });
    const all = [...full, ...other, executed];
    await Promise.all(all.map((w) => w.first));
    release();
    expect(await Promise.all(all.map((w) => w.ended))).toEqual(all.map(() => 'complete'));

    const reference = executed.items;
    const n = reference.length;
    expect(n).toBeGreaterThan(tokens.length);
    expect(seqs(executed)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(reference.at(-1)!.data!.runEvents.__typename).toBe('RunCompleted');
    expect(reference.filter((i) => i.data!.runEvents.__typename === 'TokenDelta').map((i) => i.data!.runEvents.text)).toEqual(tokens);
    for (const w of full) expect(w.items).toEqual(reference);
    for (const w of other) {
      expect(w.items).toEqual(
        reference.map(({ data }) => {
          const e = data!.runEvents as Record<string, unknown> & { usage?: { totalTokens: number } };
          return {
            data: {
              e: {
                kind: e.__typename,
                seq: e.seq,
                ...(e.__typename === 'TokenDelta' ? { piece: e.text } : {}),
                ...(e.__typename === 'RunCompleted' ? { usage: { totalTokens: e.usage!.totalTokens } } : {}),
              },
            },
          };
        }),
      );
    }
    // Replayed after the end, from the log: the same events again.
    const replay = watch(sockets[1], RUN_EVENTS, { runId, after: 0 });
    expect(await replay.ended).toBe('complete');
    expect(replay.items).toEqual(reference);
    const resumed = watch(sockets[2], RUN_EVENTS, { runId, after: 5 });
    expect(await resumed.ended).toBe('complete');
    expect(resumed.items).toEqual(reference.slice(5));
  }, 60_000);

  it('a socket authenticates once; each subscription authorizes its run in one statement', async () => {
    const user = await p.newUser();
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const run = await heldRun(user.apiKey, ['a', 'b']);
      run.release();
      runs.push(run.runId);
    }
    // Let every run finish first, so the statements counted below are the subscriptions' alone.
    const ws = socket(user.apiKey);
    for (const runId of runs) expect(await watch(ws, RUN_EVENTS, { runId, after: 0 }).ended).toBe('complete');

    p.queries.length = 0;
    const more = runs.flatMap((runId) => [watch(ws, RUN_EVENTS, { runId, after: 0 }), watch(ws, OTHER_SHAPE, { runId, after: 2 })]);
    expect(await Promise.all(more.map((w) => w.ended))).toEqual(more.map(() => 'complete'));
    expect(p.queries.filter((q) => /api_keys/.test(q))).toEqual([]);
    expect(p.queries.filter((q) => /\bruns\b/.test(q))).toHaveLength(more.length);
    expect(p.queries).toHaveLength(more.length);
  }, 60_000);

  it("a revoked key's runEvents subscriptions end with UNAUTHENTICATED, and its socket refuses what it asks next", async () => {
    const user = await p.newUser();
    const created = await p.gql<{ createApiKey: { key: { id: string }; apiKey: string } }>('mutation { createApiKey(input: { name: "doomed" }) { key { id } apiKey } }', {}, user.apiKey);
    const { key, apiKey } = created.data!.createApiKey;
    const { runId, release } = await heldRun(user.apiKey, ['x', 'y']);
    try {
      await revokeWhileWatching(runId, key.id, apiKey, user.apiKey, release);
    } finally {
      release();
    }
  }, 60_000);

  async function revokeWhileWatching(runId: string, keyId: string, apiKey: string, userKey: string, release: () => void) {
    const doomedSocket = socket(apiKey);
    const doomed = [watch(doomedSocket, RUN_EVENTS, { runId, after: 0 }), watch(doomedSocket, OTHER_SHAPE, { runId, after: 0 })];
    const kept = watch(p.ws(userKey), RUN_EVENTS, { runId, after: 0 });
    await Promise.all([...doomed, kept].map((w) => w.first));

    const revoked = await p.gql('mutation($id: ID!) { revokeApiKey(input: { apiKeyId: $id }) { key { revokedAt } } }', { id: keyId }, userKey);
    expect(revoked.errors).toBeUndefined();
    for (const w of doomed) {
      expect(await w.ended).toEqual([expect.objectContaining({ message: 'This API key was revoked', extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
    }
    // Refused at set-up, as any subscription is: one result with the error, then complete.
    const later = watch(doomedSocket, RUN_EVENTS, { runId, after: 0 });
    expect(await later.ended).toBe('complete');
    expect(later.items).toEqual([{ errors: [expect.objectContaining({ message: 'This API key was revoked', extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })] }]);

    // The user's other key streams on to the end; the socket of the revoked one is still open.
    release();
    expect(await kept.ended).toBe('complete');
    expect(kept.items.at(-1)!.data!.runEvents.__typename).toBe('RunCompleted');
  }
});
