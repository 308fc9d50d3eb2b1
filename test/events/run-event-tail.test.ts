import { RunEventLogError, RunEventLogErrorCode, type RunEvent } from '../../src/events/run-event.types';
import { RunEventTail, type RunEventPage, type TailListener, type TailSource } from '../../src/events/run-event-tail';
import { continues, LOST_EPOCH_PREFIX } from '../../src/events/run-event-continuity';

/**
 * The tail's recovery paths (lost live events, overflow, trimmed store) are
 * hard to provoke against a real log, so drive them with a scripted source.
 */
const RUN = 'run-1';
const EPOCH = 'e1';
const ev = (seq: number, type: 'TokenDelta' | 'RunCancelled' = 'TokenDelta', epoch = EPOCH): RunEvent =>
  type === 'RunCancelled'
    ? { type, seq, runId: RUN, at: '2025-01-01T00:00:00.000Z', epoch }
    : { type, stepIndex: 0, text: String(seq), seq, runId: RUN, at: '2025-01-01T00:00:00.000Z', epoch };

class FakeSource implements TailSource {
  store: RunEvent[] = [];
  /** The log's epoch as a store read reports it; null once the log is gone. */
  epoch: string | null = EPOCH;
  listener: TailListener | null = null;
  reads: number[] = [];
  stopped = 0;
  ready: Promise<void> = Promise.resolve();

  async page(_runId: string, after: number, limit: number): Promise<RunEventPage> {
    this.reads.push(after);
    return { events: this.store.filter((e) => e.seq > after).slice(0, limit), epoch: this.epoch };
  }

  /** Redis restarted without persistence: the log is gone, a later append recreates it marked lost. */
  lose(): void {
    this.store = [];
    this.epoch = null;
  }

  listen(_runId: string, listener: TailListener) {
    this.listener = listener;
    return { ready: this.ready, stop: () => void this.stopped++ };
  }

  /** Store and (optionally) announce, like an append. */
  append(seq: number, announce = true, type?: 'RunCancelled'): void {
    const e = ev(seq, type);
    this.store.push(e);
    if (announce) this.listener?.push(e);
  }
}

async function take(tail: RunEventTail, n: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await tail.next();
    if (r.done) break;
    seqs.push(r.value.seq);
  }
  return seqs;
}

const opts = { bufferSize: 4, pageSize: 3 };

async function expectLost(tail: RunEventTail, lastSafeSeq: number): Promise<void> {
  const err = await tail.next().then(
    (r) => r,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RunEventLogError);
  expect(err).toMatchObject({ code: RunEventLogErrorCode.EVENTS_LOST, lastSafeSeq, runId: RUN });
  // The iterator is finished: nothing more, ever.
  await expect(tail.next()).resolves.toEqual({ done: true, value: undefined });
}

describe('RunEventTail', () => {
  it('does not listen until iterated, and reads only after the listener is ready', async () => {
    const src = new FakeSource();
    let markReady!: () => void;
    src.ready = new Promise((r) => (markReady = r));
    src.store = [ev(1)];
    const tail = new RunEventTail(src, RUN, 0, opts);
    expect(src.listener).toBeNull();
    const first = tail.next();
    await new Promise(setImmediate);
    expect(src.listener).not.toBeNull();
    expect(src.reads).toEqual([]);
    markReady();
    await expect(first).resolves.toMatchObject({ value: { seq: 1 } });
  });

  it('drops live duplicates of replayed events', async () => {
    const src = new FakeSource();
    const tail = new RunEventTail(src, RUN, 0, opts);
    const first = tail.next();
    src.append(1); // announced while the first read is in flight: both replay and live carry it
    src.append(2);
    await first;
    expect(await take(tail, 1)).toEqual([2]);
    src.append(3);
    expect(await take(tail, 1)).toEqual([3]);
  });

  it('fills a gap in live delivery from the store', async () => {
    const src = new FakeSource();
    const tail = new RunEventTail(src, RUN, 0, opts);
    src.append(1);
    expect(await take(tail, 1)).toEqual([1]);
    src.append(2, false); // lost on the wire
    src.append(3);
    const readsBefore = src.reads.length;
    expect(await take(tail, 2)).toEqual([2, 3]);
    expect(src.reads.length).toBe(readsBefore + 1);
  });

  it('bounds the live buffer of a lagging consumer and falls back to paged reads', async () => {
    const src = new FakeSource();
    const tail = new RunEventTail(src, RUN, 0, opts);
    const pending = tail.next();
    src.append(1);
    await pending;
    // The consumer now stops pulling while the writer floods.
    for (let s = 2; s <= 50; s++) src.append(s);
    const live = (tail as unknown as { live: RunEvent[]; liveAt: number }).live;
    expect(live.length).toBeLessThanOrEqual(opts.bufferSize);
    src.append(51, true, 'RunCancelled');
    const rest: number[] = [];
    for await (const e of tail) rest.push(e.seq);
    expect(rest).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(src.stopped).toBe(1);
  });

  it('ends with EVENTS_LOST when the store no longer has the next events, instead of skipping or spinning', async () => {
    const src = new FakeSource();
    src.store = [ev(1), ev(2)];
    const tail = new RunEventTail(src, RUN, 0, opts);
    expect(await take(tail, 2)).toEqual([1, 2]);
    src.listener?.push(ev(5)); // 3–4 announced but already gone from the store (trimmed)
    await expectLost(tail, 2);
    expect(src.stopped).toBe(1);

    const trimmed = new FakeSource();
    trimmed.store = [ev(5), ev(6)]; // 1–4 trimmed before the reader came
    await expectLost(new RunEventTail(trimmed, RUN, 0, opts), 0);
  });

  it('does not take events of a recreated log for duplicates (Redis lost the log mid-run)', async () => {
    const src = new FakeSource();
    const tail = new RunEventTail(src, RUN, 0, opts);
    for (let s = 1; s <= 5; s++) src.append(s);
    expect(await take(tail, 5)).toEqual([1, 2, 3, 4, 5]);
    src.lose();
    // The worker's next append recreates the log: seq 1 again, in a lost epoch.
    const recreated = ev(1, 'TokenDelta', `${LOST_EPOCH_PREFIX}x`);
    src.store.push(recreated);
    src.epoch = recreated.epoch!;
    src.listener?.push(recreated);
    await expectLost(tail, 5);
  });

  it('ends with EVENTS_LOST on a resync that finds the log gone', async () => {
    const src = new FakeSource();
    const tail = new RunEventTail(src, RUN, 0, opts);
    src.append(1);
    src.append(2);
    expect(await take(tail, 2)).toEqual([1, 2]);
    const pending = tail.next();
    src.lose();
    src.listener?.resync(); // the pub/sub connection came back after a Redis restart
    await expect(pending).rejects.toMatchObject({ code: RunEventLogErrorCode.EVENTS_LOST, lastSafeSeq: 2, runId: RUN });
  });

  it('keeps streaming across a resync that finds the same log', async () => {
    const src = new FakeSource();
    const tail = new RunEventTail(src, RUN, 0, opts);
    src.append(1);
    expect(await take(tail, 1)).toEqual([1]);
    src.append(2, false); // published while the connection was down
    src.listener?.resync();
    src.append(3, true, 'RunCancelled');
    expect(await take(tail, 3)).toEqual([2, 3]);
  });

  it('ends with EVENTS_LOST when an event comes from another epoch than the ones before', async () => {
    const src = new FakeSource();
    const tail = new RunEventTail(src, RUN, 3, opts); // a client resuming after seq 3
    src.store = [ev(1), ev(2), ev(3), ev(4)];
    expect(await take(tail, 1)).toEqual([4]);
    src.listener?.push(ev(5, 'TokenDelta', 'e2'));
    await expectLost(tail, 4);
  });

  it('waits for a run with no log yet, but not for one that must have a log', async () => {
    const waiting = new FakeSource();
    waiting.epoch = null;
    const tail = new RunEventTail(waiting, RUN, 0, opts);
    const first = tail.next();
    await new Promise(setImmediate);
    waiting.epoch = EPOCH;
    waiting.append(1);
    await expect(first).resolves.toMatchObject({ value: { seq: 1 } });

    const gone = new FakeSource();
    gone.epoch = null;
    await expectLost(new RunEventTail(gone, RUN, 0, opts, undefined, { expectLog: true }), 0);
    await expectLost(new RunEventTail(gone, RUN, 7, opts), 7);
  });

  it('catches up on resync (lost live delivery with no later event)', async () => {
    const src = new FakeSource();
    const tail = new RunEventTail(src, RUN, 0, opts);
    const pending = tail.next();
    await new Promise(setImmediate);
    src.append(1, false, 'RunCancelled');
    src.listener?.resync();
    await expect(pending).resolves.toMatchObject({ value: { seq: 1 } });
    await expect(tail.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('fails the iterator and stops listening when the subscription cannot be set up', async () => {
    const src = new FakeSource();
    src.ready = Promise.reject(new Error('no redis'));
    const tail = new RunEventTail(src, RUN, 0, opts);
    await expect(tail.next()).rejects.toThrow('no redis');
    expect(src.stopped).toBe(1);
  });

  it('never listens when the signal is already aborted', async () => {
    const src = new FakeSource();
    const tail = new RunEventTail(src, RUN, 0, opts, AbortSignal.abort());
    await expect(tail.next()).resolves.toEqual({ done: true, value: undefined });
    expect(src.listener).toBeNull();
  });
});

describe('continues', () => {
  const at = (seq: number, epoch?: string, expectLog = false) => ({ seq, epoch, expectLog });

  it('trusts the first created epoch, then only that one', () => {
    expect(continues(at(0), 'a', 1)).toBe(true);
    expect(continues(at(4), 'a', 5)).toBe(true); // a client resuming: any created epoch is the run's one
    expect(continues(at(4, 'a'), 'a', 3)).toBe(true); // a duplicate of the same log
    expect(continues(at(4, 'a'), 'b')).toBe(false);
    expect(continues(at(4, 'a'), undefined, 5)).toBe(true); // written before epochs existed
  });

  it('never trusts a lost epoch, a jump in the store, or a missing log it knew', () => {
    expect(continues(at(0), `${LOST_EPOCH_PREFIX}a`, 1)).toBe(false);
    expect(continues(at(4, 'a'), 'a', 6)).toBe(false);
    expect(continues(at(0), null)).toBe(true); // not started yet
    expect(continues(at(0, undefined, true), null)).toBe(false);
    expect(continues(at(3, 'a'), null)).toBe(false);
  });
});
