import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  createRunEventLog,
  isLostEpoch,
  RunEventLogError,
  RunEventLogErrorCode,
  type RunEvent,
  type RunEventBody,
  type RunEventLog,
} from '../../src/events/run-event-log';
import { MemoryRunEventLog } from '../../src/events/memory-run-event-log';
import { RedisRunEventLog } from '../../src/events/redis-run-event-log';
import type { TailOptions } from '../../src/events/run-event-tail';

/**
 * One behavioural suite, run against the memory twin and the Redis log (real
 * Redis at REDIS_URL or 127.0.0.1:6379), so the twin cannot drift.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `parley-test-${randomUUID().slice(0, 8)}:`;

interface MakeOptions {
  retentionSeconds?: number;
  tail?: TailOptions;
  prefix?: string;
}
type Make = (o?: MakeOptions) => RunEventLog;

const open: RunEventLog[] = [];
function track<T extends RunEventLog>(log: T): T {
  open.push(log);
  return log;
}

const base = (o: MakeOptions = {}) => ({
  retentionSeconds: o.retentionSeconds ?? 86_400,
  maxLen: 100_000,
  staleSeconds: 7 * 86_400,
  tail: o.tail,
});
const makeMemory: Make = (o) => track(new MemoryRunEventLog(base(o)));
const makeRedis = (o: MakeOptions = {}) =>
  track(new RedisRunEventLog({ url: REDIS_URL, prefix: o.prefix ?? PREFIX, ...base(o) }));

const token = (i: number): RunEventBody => ({ type: 'TokenDelta', stepIndex: 0, text: `t${i}` });
const usage = { promptTokens: 1, completionTokens: 2, reasoningTokens: 0, cachedTokens: 0, costUsd: 0.001 };
const done: RunEventBody = { type: 'RunCompleted', status: 'COMPLETED', usage };
const newRun = () => `run-${randomUUID()}`;

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

/** Seqs must be exactly from+1 … to, in order: no gap, no duplicate. */
function expectContiguous(events: RunEvent[], from: number, to: number): void {
  const seqs = events.map((e) => e.seq);
  expect(seqs).toEqual(Array.from({ length: to - from }, (_, i) => from + 1 + i));
}

async function appendRun(log: RunEventLog, runId: string, n: number, terminal = true): Promise<void> {
  // The first append creates the run's log, as the run's QUEUED event does in production.
  for (let i = 1; i <= n; i++) await log.append(runId, token(i), { create: i === 1 });
  if (terminal) await log.append(runId, done);
}

const admin = new Redis(REDIS_URL);

afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

afterAll(async () => {
  const keys: string[] = [];
  for await (const batch of admin.scanStream({ match: `${PREFIX}*`, count: 500 })) keys.push(...(batch as string[]));
  if (keys.length) await admin.del(...keys);
  await admin.quit();
});

describe.each([
  ['memory', makeMemory],
  ['redis', makeRedis],
] as const)('RunEventLog (%s)', (_name, make) => {
  it('assigns gap-free seqs under 50 concurrent appends', async () => {
    const log = make();
    const runId = newRun();
    const appended = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(runId, token(i), { create: i === 0 })));
    expect(appended.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expectContiguous(await log.read(runId, 0), 0, 50);
    expect(await log.lastSeq(runId)).toBe(50);
  });

  it('returns the envelope and round-trips the body through JSON', async () => {
    const log = make();
    const runId = newRun();
    const e = await log.append(runId, { type: 'ToolCallCompleted', stepIndex: 1, toolCallId: 'c1', name: 'x', arguments: '{"q":"\\"é"}' }, { create: true });
    expect(e).toMatchObject({ seq: 1, runId, type: 'ToolCallCompleted', arguments: '{"q":"\\"é"}' });
    expect(new Date(e.at).toISOString()).toBe(e.at);
    expect(await log.read(runId, 0)).toEqual([e]);
  });

  it('reads events after a seq, bounded by limit', async () => {
    const log = make();
    const runId = newRun();
    await appendRun(log, runId, 10, false);
    expectContiguous(await log.read(runId, 4), 4, 10);
    expectContiguous(await log.read(runId, 4, 3), 4, 7);
    expect(await log.read(runId, 10)).toEqual([]);
    expect(await log.read(newRun(), 0)).toEqual([]);
    expect(await log.lastSeq(newRun())).toBe(0);
  });

  it('rejects appends after the terminal event', async () => {
    const log = make();
    const runId = newRun();
    await appendRun(log, runId, 2);
    const err = await log.append(runId, token(9)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunEventLogError);
    expect((err as RunEventLogError).code).toBe(RunEventLogErrorCode.RUN_ENDED);
    expect(await log.lastSeq(runId)).toBe(3);
  });

  it('replays a finished run from 0 and completes', async () => {
    const log = make();
    const runId = newRun();
    await appendRun(log, runId, 5);
    const events = await collect(log.subscribe(runId, 0));
    expectContiguous(events, 0, 6);
    expect(events[5].type).toBe('RunCompleted');
    expectContiguous(await collect(log.subscribe(runId, 3)), 3, 6);
  });

  it('joins mid-run with replay then live, no gap or duplicate, while appends race', async () => {
    const log = make();
    const runId = newRun();
    const total = 300;
    const subscribers: Promise<{ after: number; events: RunEvent[] }>[] = [];
    const subscribe = async (after: number) => ({ after, events: await collect(log.subscribe(runId, after)) });
    subscribers.push(subscribe(0)); // before the run exists
    const writer = (async () => {
      for (let i = 1; i < total; i++) {
        await log.append(runId, token(i), { create: i === 1 });
        if (i % 5 === 0) await new Promise(setImmediate);
      }
      await log.append(runId, done);
    })();
    for (let k = 0; k < 30; k++) {
      await new Promise(setImmediate);
      const last = await log.lastSeq(runId);
      subscribers.push(subscribe(Math.floor(Math.random() * (last + 1))));
      subscribers.push(subscribe(last)); // exactly at the head: the tightest race
    }
    await writer;
    subscribers.push(subscribe(total - 1));
    for (const { after, events } of await Promise.all(subscribers)) expectContiguous(events, after, total);
  });

  it('waits on a run with no log yet, then streams it', async () => {
    const log = make();
    const runId = newRun();
    const received = collect(log.subscribe(runId, 0));
    await sleep(20);
    await appendRun(log, runId, 3);
    expectContiguous(await received, 0, 4);
  });

  it('ends the iterator when the signal aborts, even while waiting', async () => {
    const log = make();
    const runId = newRun();
    await appendRun(log, runId, 2, false);
    const ac = new AbortController();
    const got: RunEvent[] = [];
    const consumed = (async () => {
      for await (const e of log.subscribe(runId, 0, ac.signal)) got.push(e);
    })();
    await sleep(30);
    ac.abort();
    await consumed;
    expectContiguous(got, 0, 2);
    // An already aborted signal yields nothing.
    expect(await collect(log.subscribe(runId, 0, ac.signal))).toEqual([]);
  });

  it('settles a pending next() when the consumer returns', async () => {
    const log = make();
    const iterator = log.subscribe(newRun(), 0)[Symbol.asyncIterator]();
    const pending = iterator.next();
    await sleep(10);
    await iterator.return?.();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });

  it('forgets a finished run after the retention period', async () => {
    const log = make({ retentionSeconds: 0.2 });
    const runId = newRun();
    await appendRun(log, runId, 3);
    expect(await log.lastSeq(runId)).toBe(4);
    await sleep(350);
    expect(await log.lastSeq(runId)).toBe(0);
    expect(await log.read(runId, 0)).toEqual([]);
  });

  it('delivers every event to 100 subscribers of one run', async () => {
    const log = make();
    const runId = newRun();
    const early = Array.from({ length: 50 }, () => collect(log.subscribe(runId, 0)));
    await sleep(20);
    await appendRun(log, runId, 100, false);
    const late = Array.from({ length: 50 }, () => collect(log.subscribe(runId, 0)));
    await appendRun(log, runId, 100);
    const all = await Promise.all([...early, ...late]);
    expect(all).toHaveLength(100);
    for (const events of all) expectContiguous(events, 0, 201);
  });

  it('keeps a slow consumer lossless with a bounded buffer', async () => {
    const log = make({ tail: { bufferSize: 4, pageSize: 7 } });
    const runId = newRun();
    const got: RunEvent[] = [];
    const consumed = (async () => {
      for await (const e of log.subscribe(runId, 0)) {
        got.push(e);
        if (e.seq % 10 === 0) await sleep(5); // falls far behind the writer
      }
    })();
    await sleep(20);
    await appendRun(log, runId, 120);
    await consumed;
    expectContiguous(got, 0, 121);
  });

  it('starts a log that an append finds missing as lost, and its readers end with EVENTS_LOST', async () => {
    const log = make();
    const runId = newRun();
    await log.append(runId, token(1)); // not the creating append: the log must have existed and is gone
    const head = await log.head(runId);
    expect(head.seq).toBe(1);
    expect(isLostEpoch(head.epoch!)).toBe(true);
    await expectLost(log.subscribe(runId, 0), runId, 0);
    await expect(log.append(runId, done)).resolves.toMatchObject({ seq: 2, epoch: head.epoch });
  });

  it('gives every event of a run the epoch its creating append chose', async () => {
    const log = make();
    const [a, b] = [newRun(), newRun()];
    await appendRun(log, a, 3);
    await appendRun(log, b, 1, false);
    const events = await log.read(a, 0);
    expect(new Set(events.map((e) => e.epoch)).size).toBe(1);
    expect((await log.head(a)).epoch).toBe(events[0].epoch);
    expect(isLostEpoch(events[0].epoch!)).toBe(false);
    expect((await log.head(b)).epoch).not.toBe(events[0].epoch);
    expect(await log.head(newRun())).toEqual({ seq: 0, epoch: null });
  });

  it('appends a batch with consecutive seqs, one epoch, readable and delivered in order', async () => {
    const log = make();
    const runId = newRun();
    const live = collect(log.subscribe(runId, 0));
    const first = await log.appendBatch(runId, [token(1), token(2), token(3)], { create: true });
    expect(first.map((e) => [e.seq, e.type === 'TokenDelta' && e.text])).toEqual([[1, 't1'], [2, 't2'], [3, 't3']]);
    expect(new Set(first.map((e) => e.epoch)).size).toBe(1);
    expect(isLostEpoch(first[0].epoch!)).toBe(false);
    const last = await log.appendBatch(runId, [token(4), done]);
    expect(last.map((e) => e.seq)).toEqual([4, 5]);
    expect(await log.read(runId, 0)).toEqual([...first, ...last]);
    expectContiguous(await live, 0, 5);
    // Resume from inside a batch.
    expectContiguous(await collect(log.subscribe(runId, 2)), 2, 5);
  });

  it('refuses a batch with a terminal event before its last, and a batch after the terminal event, storing nothing', async () => {
    const log = make();
    const runId = newRun();
    await expect(log.appendBatch(runId, [token(1), done, token(2)], { create: true })).rejects.toThrow(RangeError);
    expect(await log.lastSeq(runId)).toBe(0);
    await log.appendBatch(runId, [token(1), done], { create: true });
    await expect(log.appendBatch(runId, [token(2), token(3)])).rejects.toMatchObject({ code: RunEventLogErrorCode.RUN_ENDED });
    expect(await log.lastSeq(runId)).toBe(2);
    await expect(log.appendBatch(runId, [])).resolves.toEqual([]);
  });

  it('starts a log that a batch finds missing as lost', async () => {
    const log = make();
    const runId = newRun();
    const events = await log.appendBatch(runId, [token(1), token(2)]);
    expect(events.map((e) => e.seq)).toEqual([1, 2]);
    expect(isLostEpoch(events[0].epoch!)).toBe(true);
    await expectLost(log.subscribe(runId, 0), runId, 0);
  });

  it('gives appends made without waiting seqs in call order, and refuses those after the terminal one', async () => {
    const log = make();
    const runId = newRun();
    const live = collect(log.subscribe(runId, 0));
    // Nothing awaited: with Redis these travel in a few coalesced batches.
    const before = Array.from({ length: 300 }, (_, i) => log.append(runId, token(i), { create: i === 0 }));
    const terminal = log.append(runId, done);
    const after = Array.from({ length: 5 }, (_, i) => log.append(runId, token(1000 + i)));
    const events = await Promise.all(before);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(events.map((e) => (e.type === 'TokenDelta' ? e.text : ''))).toEqual(Array.from({ length: 300 }, (_, i) => `t${i}`));
    await expect(terminal).resolves.toMatchObject({ seq: 301, type: 'RunCompleted' });
    for (const outcome of await Promise.allSettled(after)) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: RunEventLogErrorCode.RUN_ENDED } });
    }
    expectContiguous(await live, 0, 301);
    expect(await log.read(runId, 0)).toEqual([...events, await terminal]);
  });

  it('stores the appends made before close', async () => {
    const log = make();
    const runId = newRun();
    const appends = Array.from({ length: 50 }, (_, i) => log.append(runId, token(i), { create: i === 0 }));
    await log.close();
    expect((await Promise.all(appends)).map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('completes open subscriptions on close', async () => {
    const log = make();
    const pending = collect(log.subscribe(newRun(), 0));
    await sleep(20);
    await log.close();
    await expect(pending).resolves.toEqual([]);
    await expect(log.append(newRun(), token(1))).rejects.toMatchObject({ code: RunEventLogErrorCode.LOG_CLOSED });
  });
});

async function expectLost(events: AsyncIterable<RunEvent>, runId: string, lastSafeSeq: number, got: RunEvent[] = []): Promise<void> {
  const err = await (async () => {
    for await (const e of events) got.push(e);
  })().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RunEventLogError);
  expect(err).toMatchObject({ code: RunEventLogErrorCode.EVENTS_LOST, runId, lastSafeSeq });
}

/** What Redis restarting without persistence does to one run: its keys are gone. */
async function loseRun(log: RedisRunEventLog, runId: string): Promise<void> {
  await admin.del(log.metaKey(runId), log.streamKey(runId));
}

/** Resolves once `n` events were received: waits for events, not time. */
function received(got: unknown[], n: number): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (got.length >= n ? resolve() : setImmediate(poll));
    poll();
  });
}

describe('RedisRunEventLog when Redis loses a run mid-stream', () => {
  it('ends a live subscriber with EVENTS_LOST at the last event it had, not with skipped seqs', async () => {
    const log = makeRedis();
    const runId = newRun();
    const got: RunEvent[] = [];
    const ended = expectLost(log.subscribe(runId, 0), runId, 5, got);
    await appendRun(log, runId, 5, false);
    await received(got, 5);
    await loseRun(log, runId);
    // The worker carries on, its appends not creating ones: seqs 1… again, in a lost log.
    for (let i = 6; i <= 13; i++) await log.append(runId, token(i));
    await log.append(runId, done);
    await ended;
    expectContiguous(got, 0, 5);
    const recreated = await log.read(runId, 0);
    expect(recreated.map((e) => e.seq)).toEqual(Array.from({ length: 9 }, (_, i) => i + 1));
    expect(recreated.every((e) => isLostEpoch(e.epoch!))).toBe(true);
    // Readers that come later cannot vouch for anything either.
    await expectLost(log.subscribe(runId, 3), runId, 3);
    await expectLost(log.subscribe(runId, 0, undefined, { expectLog: true }), runId, 0);
  });

  it('ends a subscriber as soon as its pub/sub reconnect finds the log gone, with no further append', async () => {
    const prefix = `${PREFIX}loss-${randomUUID().slice(0, 6)}:`;
    const log = makeRedis({ prefix });
    const runId = newRun();
    const got: RunEvent[] = [];
    const ended = expectLost(log.subscribe(runId, 0), runId, 4, got);
    await appendRun(log, runId, 4, false);
    await received(got, 4);
    await loseRun(log, runId);
    await killSubscriberConnection(prefix);
    await ended;
    expectContiguous(got, 0, 4);
  });

  it('streams a new run normally after a loss, and an old subscriber of another run is untouched', async () => {
    const log = makeRedis();
    const [lost, other] = [newRun(), newRun()];
    await appendRun(log, lost, 3, false);
    await appendRun(log, other, 3, false);
    const otherEvents = collect(log.subscribe(other, 0));
    await loseRun(log, lost);
    await log.append(lost, token(4));
    const fresh = newRun();
    const freshEvents = collect(log.subscribe(fresh, 0));
    await appendRun(log, fresh, 20);
    await appendRun(log, other, 2);
    expectContiguous(await freshEvents, 0, 21);
    expectContiguous(await otherEvents, 0, 6);
  });
});

async function killSubscriberConnection(prefix: string): Promise<void> {
  const clients = (await admin.client('LIST')) as string;
  const ids = clients
    .split('\n')
    .filter((line) => line.includes(` name=${prefix}run-events-sub `))
    .map((line) => /^id=(\d+)/.exec(line)?.[1]);
  expect(ids).toHaveLength(1);
  await admin.client('KILL', 'ID', ids[0] as string);
}

describe('RedisRunEventLog batches', () => {
  it('sends appends made while one is in flight as one script call and one publish', async () => {
    const log = makeRedis();
    const runId = newRun();
    const tap = admin.duplicate();
    const messages: string[] = [];
    tap.on('message', (_channel: string, message: string) => messages.push(message));
    await tap.subscribe(log.channelName(runId));
    try {
      // All made before any reply can come back: the first goes alone, the rest wait for it together.
      const appends = Array.from({ length: 100 }, (_, i) => log.append(runId, token(i), { create: i === 0 }));
      await Promise.all(appends);
      await log.append(runId, done);
      await received(messages, 3);
      const published = messages.map((m) => JSON.parse(m) as RunEvent | RunEvent[]);
      expect(published.map((p) => (Array.isArray(p) ? p.map((e) => e.seq) : p.seq))).toEqual([
        1,
        Array.from({ length: 99 }, (_, i) => i + 2),
        101,
      ]);
      // Each published event is what the stream stored.
      expect(published.flat()).toEqual(await log.read(runId, 0));
    } finally {
      await tap.quit();
    }
  });

  it('rejects every append of a batch the script fails, like a single append, and sends the next batch', async () => {
    const log = makeRedis();
    const runId = newRun();
    await log.append(runId, token(0), { create: true });
    // A meta key of the wrong type makes the script fail before it stores anything.
    await admin.del(log.metaKey(runId));
    await admin.set(log.metaKey(runId), 'not a hash');
    const failed = Array.from({ length: 5 }, (_, i) => log.append(runId, token(i + 1)));
    const outcomes = await Promise.allSettled(failed);
    const reasons = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error) : null));
    expect(reasons.every((r) => r !== null && /WRONGTYPE/.test(r.message))).toBe(true);
    // The first went alone; the four made while it was in flight were one batch, with one error.
    expect(reasons.slice(2).every((r) => r === reasons[1])).toBe(true);
    expect(reasons[0]).not.toBe(reasons[1]);
    expect(await admin.xlen(log.streamKey(runId))).toBe(1);
    await admin.del(log.metaKey(runId));
    // The log is back, marked lost: the next appends are stored, and readers are told.
    const next = await Promise.all([log.append(runId, token(6)), log.append(runId, token(7))]);
    expect(next.map((e) => e.seq)).toEqual([1, 2]);
    expect(isLostEpoch(next[0].epoch!)).toBe(true);
  });

  it('serves a batch appended on node A to a subscriber on node B, from inside the batch', async () => {
    const [a, b] = [makeRedis(), makeRedis()];
    const runId = newRun();
    const fromStart = collect(b.subscribe(runId, 0));
    await Promise.all(Array.from({ length: 40 }, (_, i) => a.append(runId, token(i), { create: i === 0 })));
    const fromMiddle = collect(b.subscribe(runId, 17));
    await a.appendBatch(runId, [token(40), token(41), done]);
    expectContiguous(await fromStart, 0, 43);
    expectContiguous(await fromMiddle, 17, 43);
  });

  it('ends a live subscriber with EVENTS_LOST when a coalesced batch recreates a lost log', async () => {
    const log = makeRedis();
    const runId = newRun();
    const got: RunEvent[] = [];
    const ended = expectLost(log.subscribe(runId, 0), runId, 5, got);
    await appendRun(log, runId, 5, false);
    await received(got, 5);
    await loseRun(log, runId);
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(runId, token(6 + i))));
    await log.append(runId, done);
    await ended;
    expectContiguous(got, 0, 5);
  });
});

describe('RedisRunEventLog across nodes', () => {
  it('serves a subscriber on node B from a middle seq of a run appended on node A', async () => {
    const a = makeRedis();
    const b = makeRedis();
    const runId = newRun();
    await appendRun(a, runId, 10, false);
    const received = collect(b.subscribe(runId, 6));
    await appendRun(a, runId, 10);
    expectContiguous(await received, 6, 21);
  });

  it('keeps seqs gap-free with two nodes appending at once', async () => {
    const nodes = [makeRedis(), makeRedis()];
    const runId = newRun();
    await nodes[0].append(runId, token(0), { create: true });
    await Promise.all(Array.from({ length: 50 }, (_, i) => nodes[i % 2].append(runId, token(i))));
    const events = await nodes[1].read(runId, 0);
    expectContiguous(events, 0, 51);
    expect(new Set(events.map((e) => e.epoch)).size).toBe(1);
  });

  it('stores events under stream ids <seq>-0 and sets the retention TTL at the terminal event', async () => {
    const log = makeRedis({ retentionSeconds: 60 });
    const runId = newRun();
    await appendRun(log, runId, 2, false);
    const stream = log.streamKey(runId);
    expect((await admin.xrange(stream, '-', '+')).map(([id]) => id)).toEqual(['1-0', '2-0']);
    expect(await admin.pttl(stream)).toBeGreaterThan(60_000); // the stale-run TTL, not yet retention
    await log.append(runId, done);
    for (const key of [stream, log.metaKey(runId)]) {
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('catches up from the stream after its pub/sub connection is killed', async () => {
    const prefix = `${PREFIX}kill-${randomUUID().slice(0, 6)}:`;
    const log = makeRedis({ prefix });
    const runId = newRun();
    const received = collect(log.subscribe(runId, 0));
    await appendRun(log, runId, 5, false);
    await sleep(20);
    await killSubscriberConnection(prefix);
    await appendRun(log, runId, 5); // published while the subscriber is reconnecting
    expectContiguous(await received, 0, 11);
  });

  it('createRunEventLog picks the implementation from its options', async () => {
    const memory = track(createRunEventLog({}));
    const redis = track(createRunEventLog({ redis: { url: REDIS_URL, prefix: PREFIX } }));
    expect(memory).toBeInstanceOf(MemoryRunEventLog);
    expect(redis).toBeInstanceOf(RedisRunEventLog);
    expect(() => createRunEventLog({ retentionSeconds: 0 })).toThrow(RangeError);
  });
});
