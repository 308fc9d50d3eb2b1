import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { collect, startTestParley, TEST_REDIS_URL, type TestParley } from '../support/parley';
import { spawnParley, type ParleyProcess } from '../support/process';
import { RUN, RUN_EVENTS, SEND, type RunEventsData, type SendData } from '../runs/run-helpers';

/**
 * Scale-out, with real processes: API node A (in this process, no worker),
 * API node B (a separate process), and worker processes that only execute runs.
 */
describe('scale-out: resume on another API node, and a worker dying mid-run', () => {
  let a: TestParley;
  let b: ParleyProcess;
  let worker: ParleyProcess | undefined;
  let key: string;
  let conversationId: string;
  const shared = () => ({ DATABASE_URL: a.databaseUrl, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: a.redisPrefix, PARLEY_ADMIN_KEY: a.adminKey });
  const startWorker = () =>
    spawnParley({ ...shared(), PARLEY_DEMO_TOKEN_DELAY_MS: '25', PARLEY_JOB_LOCK_MS: '1500' }, 'src/worker.ts', 'Parley worker is running');

  beforeAll(async () => {
    a = await startTestParley({ redis: true, env: { PARLEY_WORKER: 'off' } });
    b = await spawnParley({ ...shared(), PARLEY_WORKER: 'off' });
    worker = await startWorker();
    key = (await a.newUser()).apiKey;
    const c = await a.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "scale" }) { conversation { id } } }', {}, key);
    conversationId = c.data!.createConversation.conversation.id;
  }, 90_000);

  afterAll(async () => {
    worker?.kill();
    await b?.stop();
    await a?.stop();
  });

  it('reconnects on node B with `after` and gets exactly the missed events, then live ones', async () => {
    const sent = await a.gql<SendData>(SEND, { input: { conversationId, content: 'Tell me something long please' } }, key);
    const runId = sent.data!.sendMessage.run.id;
    // Read from A until a few tokens arrived, then drop the connection mid-run.
    const first = await collect<RunEventsData>(a.ws(key), RUN_EVENTS, { runId, after: 0 }, (items) =>
      items.filter((i) => i.data?.runEvents.__typename === 'TokenDelta').length >= 3,
    );
    const lastSeen = first.at(-1)!.data!.runEvents.seq;
    await new Promise((r) => setTimeout(r, 150)); // events keep flowing while nobody listens
    const clientB = createClient({ url: b.url.replace('http', 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
    const rest = await collect<RunEventsData>(clientB, RUN_EVENTS, { runId, after: lastSeen }, () => false, 30_000);
    await clientB.dispose();
    const seqs = [...first, ...rest].map((i) => i.data!.runEvents.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // no gap, no duplicate
    expect(rest[0].data!.runEvents.seq).toBe(lastSeen + 1);
    expect(rest.at(-1)!.data!.runEvents.__typename).toBe('RunCompleted');
    const text = [...first, ...rest].filter((i) => i.data!.runEvents.__typename === 'TokenDelta').map((i) => i.data!.runEvents.text).join('');
    const run = await a.gql<{ run: { status: string; responseMessage: { content: string } } }>(RUN, { id: runId }, key);
    expect(run.data!.run).toMatchObject({ status: 'COMPLETED', responseMessage: { content: text } });
  }, 60_000);

  it('fails the run with WORKER_LOST when its worker is killed, and subscribers get the terminal event', async () => {
    const sent = await a.gql<SendData>(SEND, { input: { conversationId, content: 'Another long answer please, with many words in it' } }, key);
    const runId = sent.data!.sendMessage.run.id;
    const watcher = collect<RunEventsData>(a.ws(key), RUN_EVENTS, { runId, after: 0 }, () => false, 45_000);
    const early = await collect<RunEventsData>(a.ws(key), RUN_EVENTS, { runId, after: 0 }, (items) =>
      items.some((i) => i.data?.runEvents.__typename === 'TokenDelta'),
    );
    expect(early.length).toBeGreaterThan(0);
    worker!.kill(); // SIGKILL: no chance to clean up
    await new Promise((r) => setTimeout(r, 200));
    worker = await startWorker(); // a live worker notices the stalled job once the lock lapses
    const events = (await watcher).map((i) => i.data!.runEvents);
    expect(events.at(-1)).toMatchObject({ __typename: 'RunFailed', error: { code: 'WORKER_LOST' } });
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const run = await a.gql<{ run: { status: string; error: { code: string } } }>(RUN, { id: runId }, key);
    expect(run.data!.run).toMatchObject({ status: 'FAILED', error: { code: 'WORKER_LOST' } });
  }, 60_000);
});
