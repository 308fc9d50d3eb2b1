import type { RunEventItem } from '../runs/run-helpers';
import { numberedTokens, startFaultCluster, type FaultCluster } from './cluster';

const LEASE_MS = 3_000;
const RECONCILE_INTERVAL_MS = 500;

/**
 * The only worker SIGKILLed mid-run, and none comes back: the reconciler on
 * an API node ends the run FAILED WORKER_LOST within the lease, its
 * subscriber gets RunFailed, and its branch takes the next message. A worker
 * started later runs that message, and new ones, normally.
 */
describe('fault: the only worker is killed mid-run', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await startFaultCluster({
      env: { PARLEY_RUN_LEASE_MS: String(LEASE_MS), PARLEY_RECONCILE_INTERVAL_MS: String(RECONCILE_INTERVAL_MS) },
    });
  }, 300_000);

  afterAll(async () => {
    await cluster?.close();
  }, 60_000);

  const tokensOf = (events: RunEventItem[]) => events.filter((e) => e.__typename === 'TokenDelta').length;

  it('ends the run WORKER_LOST with no worker left, frees the branch, and a new worker runs new runs', async () => {
    const key = await cluster.newUser();
    // The stream holds after 20 tokens until the test ends: the worker dies in the middle of it.
    cluster.fake.enqueue({ kind: 'hang', afterChunks: 21, text: numberedTokens(100), delayMs: 2 });
    const conversationId = await cluster.conversation(key);
    const { run } = await cluster.send(key, conversationId, 'A long answer, please');
    const watcher = cluster.watch(1, run.id, key);
    await watcher.waitFor((events) => tokensOf(events) >= 20);

    await cluster.killWorker();
    // No worker is alive from here on: only an API node's reconciler can end the run (its log line says so below).
    const { events, error } = await watcher.done;
    expect(error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ __typename: 'RunFailed', error: { code: 'WORKER_LOST' } });
    const failed = await cluster.waitForRun(run.id, key);
    expect(failed).toMatchObject({ status: 'FAILED', error: { code: 'WORKER_LOST' } });
    const ender = await Promise.race(
      cluster.api.map((node) => cluster.waitForLog(node, (entry) => entry.msg === 'reconciler ended abandoned runs', 5_000)),
    );
    expect(ender).toMatchObject({ runs: 1 });

    // The branch is free while no worker runs: the next message is accepted and waits in the queue.
    cluster.fake.enqueue({ kind: 'stream', text: ['back ', 'again'] });
    const queued = await cluster.send(key, conversationId, 'Are you back?');
    expect(queued.run.status).toBe('QUEUED');

    await cluster.startWorker();
    const resumed = await cluster.waitForRun(queued.run.id, key);
    expect(resumed).toMatchObject({ status: 'COMPLETED', responseMessage: { content: 'back again' } });

    cluster.fake.enqueue({ kind: 'stream', text: numberedTokens(30), delayMs: 2 });
    const fresh = await cluster.send(key, await cluster.conversation(key, 1), 'And a new one', 1);
    const watched = await cluster.watch(0, fresh.run.id, key).done;
    expect(watched.events.at(-1)).toMatchObject({ __typename: 'RunCompleted', status: 'COMPLETED' });
    expect(await cluster.waitForRun(fresh.run.id, key)).toMatchObject({ status: 'COMPLETED', responseMessage: { content: numberedTokens(30).join('') } });
  }, 240_000);
});
