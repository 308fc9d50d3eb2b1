import { newConversations, startTestCluster, type GqlResult, type TestCluster, type TestParley } from '../support/parley';
import { startHarness, type Harness } from '../runs/fake-run-harness';
import { SEND, type SendData } from '../runs/run-helpers';

const CANCEL = 'mutation($input: CancelRunInput!) { cancelRun(input: $input) { run { id status } } }';

/**
 * PARLEY_MAX_ACTIVE_RUNS_PER_USER across two API nodes. No worker runs, so
 * every accepted run stays QUEUED and keeps counting: the outcome does not
 * depend on how fast anything executes.
 */
describe('active runs per user: a cap that holds across API nodes', () => {
  let cluster: TestCluster;
  let a: TestParley;
  let b: TestParley;
  beforeAll(async () => {
    cluster = await startTestCluster({ PARLEY_WORKER: 'off', PARLEY_MAX_ACTIVE_RUNS_PER_USER: '3' });
    ({ a, b } = cluster);
  });
  afterAll(() => cluster?.stop());

  it('accepts exactly the cap of 10 concurrent starts split over two nodes, refuses the rest, and frees a place when a run ends', async () => {
    const { apiKey } = await a.newUser();
    const ids = await newConversations(a, apiKey, 10);
    const results = await Promise.all(ids.map((conversationId, i) => (i % 2 ? b : a).gql<SendData>(SEND, { input: { conversationId, content: 'hi' } }, apiKey)));
    const accepted = results.filter((r) => r.data?.sendMessage);
    const refused = results.filter((r) => r.errors);
    expect(accepted).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const r of refused) {
      expect(r.errors![0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'activeRunsPerUser', maxActiveRuns: 3, activeRuns: 3 });
    }

    // Another user has places of their own.
    const other = await a.newUser();
    const [otherConversation] = await newConversations(a, other.apiKey, 1);
    expect((await b.gql<SendData>(SEND, { input: { conversationId: otherConversation, content: 'hi' } }, other.apiKey)).data?.sendMessage.run.status).toBe('QUEUED');

    // A refused send wrote nothing: its conversation can take a message and a run once a place is free.
    const cancelled = await a.gql<{ cancelRun: { run: { status: string } } }>(CANCEL, { input: { runId: accepted[0].data!.sendMessage.run.id } }, apiKey);
    expect(cancelled.data?.cancelRun.run.status).toBe('CANCELLED');
    const refusedIndex = results.findIndex((r) => r.errors);
    const retried = await b.gql<SendData>(SEND, { input: { conversationId: ids[refusedIndex], content: 'hi' } }, apiKey);
    expect(retried.data?.sendMessage.run.status).toBe('QUEUED');
    const path = await a.gql<{ conversation: { messages: { edges: unknown[] } } }>(
      'query($id: ID!) { conversation(id: $id) { messages { edges { node { id } } } } }', { id: ids[refusedIndex] }, apiKey);
    expect(path.data?.conversation.messages.edges).toHaveLength(1);
    const again: GqlResult = await a.gql(SEND, { input: { conversationId: ids.find((_, i) => i !== refusedIndex && results[i].errors)!, content: 'hi' } }, apiKey);
    expect(again.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
  });
});

/**
 * Workers take queued runs round robin across users: with one worker slot
 * held by user A's first run, A's second and third runs and then B's first
 * are queued; when the slot frees, B's run goes first.
 */
describe.each([
  ['in-memory queue', false],
  ['BullMQ queue', true],
])('fair pick across users (%s)', (_name, redis) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ redis, env: { PARLEY_WORKER_CONCURRENCY: '1', PARLEY_MAX_ACTIVE_RUNS_PER_USER: '5' } });
  });
  afterAll(() => h?.stop());

  it("starts another user's first run before the queued runs of a user already running one", async () => {
    // A's first run hangs upstream and holds the only slot until it is cancelled.
    h.fake.enqueue({ kind: 'hang', afterChunks: 2, text: ['working'] });
    for (let i = 0; i < 3; i++) h.fake.enqueue({ kind: 'stream', text: ['done'] });
    const first = await h.send(await h.conversation(), 'A1');
    const watchFirst = h.watch(first.run.id);
    await watchFirst.waitFor((events) => events.some((e) => e.__typename === 'TokenDelta'));
    const a2 = await h.send(await h.conversation(), 'A2');
    const a3 = await h.send(await h.conversation(), 'A3');
    const other = await h.p.newUser();
    const [otherConversation] = await newConversations(h.p, other.apiKey, 1);
    const b1 = await h.send(otherConversation, 'B1', undefined, other.apiKey);
    const watches = [h.watch(a2.run.id), h.watch(a3.run.id), h.watch(b1.run.id, 0, other.apiKey)];
    await h.p.gql(CANCEL, { input: { runId: first.run.id } }, h.key);
    await watchFirst.done;
    await Promise.all(watches.map((w) => w.done));

    const asked = h.fake.requests.map((r) => {
      const messages = r.body.messages as { role: string; content: string }[];
      return messages.filter((m) => m.role === 'user').at(-1)!.content;
    });
    expect(asked).toEqual(['A1', 'B1', 'A2', 'A3']);
  });
});
