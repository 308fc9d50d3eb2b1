import type { RunEventItem } from '../runs/run-helpers';
import { numberedTokens, startFaultCluster, tokenText, type FaultCluster } from './cluster';

/** Longer than the lease, so the lease alone cannot tell a retrying worker from a dead one. */
const OUTAGE_MS = 20_000;
const LEASE_MS = 4_000;
const RECONCILE_INTERVAL_MS = 500;
/** Longer than the outage: the worker's retried write is what saves the run. */
const DB_RETRY_MS = 45_000;

/**
 * Postgres stopped for 20 s while a run's last tokens stream (nothing of the
 * run is in Postgres yet but its claim), then started again: the worker's
 * writes retry until it is back, so the run completes with its whole answer
 * kept, the subscribers on both API nodes get their terminal event, the lease
 * that aged meanwhile does not let the reconciler end it, and its branch takes
 * the next message.
 */
describe('fault: Postgres stops while a run streams its last tokens', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await startFaultCluster({
      env: {
        PARLEY_RUN_LEASE_MS: String(LEASE_MS),
        PARLEY_RECONCILE_INTERVAL_MS: String(RECONCILE_INTERVAL_MS),
        PARLEY_DB_RETRY_MS: String(DB_RETRY_MS),
      },
    });
  }, 300_000);

  afterAll(async () => {
    await cluster?.close();
  }, 60_000);

  const tokensOf = (events: RunEventItem[]) => events.filter((e) => e.__typename === 'TokenDelta').length;

  it('completes the run with its answer, ends both subscriptions and frees the branch', async () => {
    const key = await cluster.newUser();
    const tokens = numberedTokens(60);
    let release!: () => void;
    const postgresDown = new Promise<void>((resolve) => (release = resolve));
    // Chunk 0 opens the message: the stream holds after 40 tokens until Postgres is gone.
    cluster.fake.enqueue({ kind: 'stream', text: tokens, delayMs: 5, hold: { chunks: 41, until: postgresDown } });
    const conversationId = await cluster.conversation(key);
    const { run } = await cluster.send(key, conversationId, 'A long answer, please');
    const watchers = [cluster.watch(0, run.id, key), cluster.watch(1, run.id, key)];
    await Promise.all(watchers.map((w) => w.waitFor((events) => tokensOf(events) >= 40)));

    const worker = cluster.worker!;
    const stoppedAt = Date.now();
    await cluster.postgres.stop();
    release();
    // The last tokens reach both subscribers while Postgres is away, and the step's write starts retrying.
    await Promise.all(watchers.map((w) => w.waitFor((events) => tokensOf(events) === tokens.length)));
    await cluster.waitForLog(worker, (entry) => entry.msg === 'run write failed; retrying' && entry.attempt === 1);
    expect(cluster.fake.requests[0]?.finishedAt).toBeDefined();

    // The outage's length is the fault itself, not a wait for something to happen.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + OUTAGE_MS - Date.now())));
    await cluster.postgres.start();

    const outcomes = await Promise.all(watchers.map((w) => w.done));
    const final = await cluster.waitForRun(run.id, key);
    expect(final).toMatchObject({ status: 'COMPLETED', error: null, responseMessage: { content: tokens.join(''), status: 'COMPLETE' } });
    for (const outcome of outcomes) {
      expect(outcome.error).toBeUndefined();
      const seqs = outcome.events.map((e) => e.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(tokenText(outcome.events)).toBe(tokens.join(''));
      expect(outcome.events.at(-1)).toMatchObject({ __typename: 'RunCompleted', status: 'COMPLETED' });
    }

    // Its lease aged through the outage, yet nobody took the run from the worker that was still retrying.
    for (const node of cluster.api) expect(node.logs.some((l) => l.includes('reconciler ended abandoned runs'))).toBe(false);

    // The branch is free: the next message on it runs, through the node that did not start the first run.
    cluster.fake.enqueue({ kind: 'stream', text: ['still ', 'here'] });
    const next = await cluster.send(key, conversationId, 'Are you still there?', 1);
    const nextRun = await cluster.waitForRun(next.run.id, key);
    expect(nextRun).toMatchObject({ status: 'COMPLETED', responseMessage: { content: 'still here' } });
  }, 240_000);
});
