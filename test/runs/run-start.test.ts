import { Queue, QueueEvents } from 'bullmq';
import { BullRunQueue, type RunJob } from '../../src/queue/run-queue';
import { createLogger } from '../../src/logger';
import { dropRedisKeys } from '../../scripts/scratch-db';
import { TEST_REDIS_URL, startTestParley, type TestParley } from '../support/parley';
import { MODEL, expectWellFormed, startHarness, textOf, type Harness } from './fake-run-harness';

/**
 * Where a run starts. A node whose inline worker has room runs the runs it
 * accepts itself, at once: the job exists in the queue only as a standby
 * copy until the run is claimed, then the node removes it; no other worker
 * runs it. A node without room, or without a worker, leaves the job to the
 * queue. The send writes in one round trip.
 */

const redisConnection = () => {
  const u = new URL(TEST_REDIS_URL);
  return { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
};

/** The run queue of a node's deployment, read from outside, and its event stream from the start. */
async function observeQueue(redisPrefix: string) {
  const queue = new Queue<RunJob>('runs', { connection: redisConnection(), prefix: `${redisPrefix}bull` });
  const events = new QueueEvents('runs', { connection: redisConnection(), prefix: `${redisPrefix}bull`, lastEventId: '0-0' });
  await events.waitUntilReady();
  const seen: { event: string; jobId: string }[] = [];
  const waiters = new Set<() => void>();
  for (const event of ['added', 'active', 'completed', 'failed', 'removed'] as const) {
    events.on(event, (args: { jobId: string }) => {
      seen.push({ event, jobId: args.jobId });
      for (const w of waiters) w();
    });
  }
  return {
    queue,
    events,
    seen,
    /** Resolves when `pred` holds for the events seen so far. */
    until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${what}; queue events: ${JSON.stringify(seen)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async jobOf(runId: string) {
      const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
      return jobs.find((j) => j.data.runId === runId);
    },
    async close() {
      await events.close();
      await queue.close();
    },
  };
}

describe.each([
  ['in-memory queue', false],
  ['BullMQ queue, a second node with a worker', true],
])('a run sent to a node with a free worker slot (%s)', (_name, redis) => {
  let h: Harness;
  let second: TestParley | undefined;
  let observed: Awaited<ReturnType<typeof observeQueue>> | undefined;

  beforeAll(async () => {
    h = await startHarness({ redis });
    if (redis) {
      observed = await observeQueue(h.p.redisPrefix);
      second = await startTestParley({
        redis: true,
        databaseUrl: h.p.databaseUrl,
        redisPrefix: h.p.redisPrefix,
        env: { PARLEY_PROVIDERS: JSON.stringify({ fake: { baseUrl: h.fake.url, apiKey: 'x' } }), PARLEY_DEFAULT_MODEL: MODEL },
      });
    }
  }, 60_000);

  afterAll(async () => {
    await observed?.close();
    await second?.stop();
    await h?.stop();
  });

  it('runs each run exactly once, on the node that accepted it', async () => {
    const runs: string[] = [];
    for (let i = 0; i < 4; i++) {
      h.fake.enqueue({ kind: 'stream', text: [`answer `, `${i}`] });
      const { run } = await h.send(await h.conversation(), `question ${i}`);
      runs.push(run.id);
      const events = await h.watch(run.id).done;
      expectWellFormed(events, run.id, 'RunCompleted');
      expect(textOf(events)).toBe(`answer ${i}`);
    }
    expect(h.fake.requests).toHaveLength(4);
    for (const id of runs) expect(await h.run(id)).toMatchObject({ status: 'COMPLETED', responseMessage: { content: expect.stringMatching(/^answer \d$/) } });
    if (observed) {
      const { seen, until } = observed;
      // Each job was a standby copy, added and removed by the accepting node once it claimed the run: no worker ever took one.
      await until(() => seen.filter((e) => e.event === 'removed').length === runs.length, 'every standby copy removed');
      const added = seen.filter((e) => e.event === 'added').map((e) => e.jobId);
      expect(seen.filter((e) => e.event === 'removed').map((e) => e.jobId).sort()).toEqual([...added].sort());
      expect(seen.filter((e) => e.event === 'active')).toEqual([]);
      for (const id of runs) expect(await observed.jobOf(id)).toBeUndefined();
    }
  });

  if (redis) {
    it('does not run or end a claimed run again when a standby copy of its job reaches a worker', async () => {
      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      h.fake.enqueue({ kind: 'stream', text: ['held ', 'then ', 'done'], hold: { chunks: 2, until: held } });
      const requestsBefore = h.fake.requests.length;
      const { run } = await h.send(await h.conversation(), 'Hold on');
      const watch = h.watch(run.id);
      await watch.waitFor((events) => events.some((e) => e.__typename === 'TokenDelta'));
      // As if the copy had come due before the node removed it: a worker (either node's) takes it now.
      const copy = await observed!.queue.add('run', { runId: run.id, standby: true });
      await copy.waitUntilFinished(observed!.events, 10_000);
      expect((await h.run(run.id)).status).toBe('IN_PROGRESS');
      release();
      const events = await watch.done;
      expectWellFormed(events, run.id, 'RunCompleted');
      expect(textOf(events)).toBe('held then done');
      expect(h.fake.requests.length - requestsBefore).toBe(1);
    });
  }
});

describe('a node without a free worker slot leaves the run to the queue', () => {
  let h: Harness;
  let observed: Awaited<ReturnType<typeof observeQueue>>;

  beforeAll(async () => {
    // Two slots: one for a run of its own, one kept for the job its worker may be fetching meanwhile.
    h = await startHarness({ redis: true, env: { PARLEY_WORKER_CONCURRENCY: '2' } });
    observed = await observeQueue(h.p.redisPrefix);
  }, 60_000);

  afterAll(async () => {
    await observed?.close();
    await h?.stop();
  });

  it('runs the first run itself, queues the second while the first holds its slot', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    h.fake.enqueue({ kind: 'stream', text: ['first ', 'done'], hold: { chunks: 2, until: held } });
    h.fake.enqueue({ kind: 'stream', text: ['second'] });
    const first = await h.send(await h.conversation(), 'First');
    const watchFirst = h.watch(first.run.id);
    await watchFirst.waitFor((events) => events.some((e) => e.__typename === 'TokenDelta'));
    const second = await h.send(await h.conversation(), 'Second');
    const secondJob = await observed.jobOf(second.run.id);
    expect(secondJob?.data.standby).toBeUndefined();
    const secondEvents = await h.watch(second.run.id).done;
    expectWellFormed(secondEvents, second.run.id, 'RunCompleted');
    await secondJob!.waitUntilFinished(observed.events, 10_000);
    release();
    expectWellFormed(await watchFirst.done, first.run.id, 'RunCompleted');
    await observed.until(() => observed.seen.some((e) => e.event === 'removed'), 'the first run’s standby copy removed');
    expect(await observed.jobOf(first.run.id)).toBeUndefined();
    expect(observed.seen.filter((e) => e.event === 'active').map((e) => e.jobId)).toEqual([secondJob!.id]);
  });
});

describe('a standby copy whose node never claimed the run', () => {
  it('comes due after the lock duration and reaches a worker, marked as a standby', async () => {
    const prefix = `parley-test-standby-${process.pid}-${Date.now()}:`;
    const logger = createLogger('silent');
    const options = { redisUrl: TEST_REDIS_URL, prefix, concurrency: 4, lockDurationMs: 500, logger };
    const accepting = new BullRunQueue(options);
    const other = new BullRunQueue(options);
    let stop = () => {};
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const received: { by: string; job: RunJob }[] = [];
    let copyArrived = () => {};
    const arrived = new Promise<void>((resolve) => (copyArrived = resolve));
    const handler = (by: string) => async (job: RunJob) => {
      received.push({ by, job });
      if (job.standby) copyArrived();
      // Neither claims: the accepting node is as good as dead for this run.
      await stopped;
    };
    try {
      await Promise.all([accepting.work(handler('accepting')), other.work(handler('other'))]);
      await accepting.enqueue({ runId: 'r1', priority: 1 });
      await arrived;
      expect(received[0]).toEqual({ by: 'accepting', job: expect.objectContaining({ runId: 'r1' }) });
      expect(received[0].job.standby).toBeUndefined();
      expect(received[1].job).toMatchObject({ runId: 'r1', standby: true });
      expect(received).toHaveLength(2);
    } finally {
      stop();
      await accepting.close();
      await other.close();
      await dropRedisKeys(TEST_REDIS_URL, prefix);
    }
  });
});

describe('sendMessage writes in one round trip', () => {
  let p: TestParley;
  beforeAll(async () => {
    p = await startTestParley({ countQueries: true, env: { PARLEY_WORKER: 'off' } });
  }, 60_000);
  afterAll(() => p?.stop());

  it('sends one script: locks, checks, the message and the QUEUED run, no BEGIN or COMMIT of its own', async () => {
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "one" }) { conversation { id } } }');
    const conversationId = c.data!.createConversation.conversation.id;
    p.queries.length = 0;
    const sent = await p.gql<{ sendMessage: { run: { id: string; status: string } } }>(
      'mutation($c: ID!) { sendMessage(input: { conversationId: $c, content: "hi" }) { run { id status } } }',
      { c: conversationId },
    );
    expect(sent.errors).toBeUndefined();
    expect(sent.data!.sendMessage.run.status).toBe('QUEUED');
    const writes = p.queries.filter((q) => /\b(insert|update|begin|commit)\b/i.test(q));
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/insert into messages[\s\S]*insert into runs/i);
  });
});
