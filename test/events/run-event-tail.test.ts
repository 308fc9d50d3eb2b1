import type { RunEvent } from '../../src/events/run-event.types';
import { RunEventTail, type TailListener, type TailSource } from '../../src/events/run-event-tail';

/**
 * The tail's recovery paths (lost live events, overflow, trimmed store) are
 * hard to provoke against a real log, so drive them with a scripted source.
 */
const RUN = 'run-1';
const ev = (seq: number, type: 'TokenDelta' | 'RunCancelled' = 'TokenDelta'): RunEvent =>
  type === 'RunCancelled'
    ? { type, seq, runId: RUN, at: '2025-01-01T00:00:00.000Z' }
    : { type, stepIndex: 0, text: String(seq), seq, runId: RUN, at: '2025-01-01T00:00:00.000Z' };

class FakeSource implements TailSource {
  store: RunEvent[] = [];
  listener: TailListener | null = null;
  reads: number[] = [];
  stopped = 0;
  ready: Promise<void> = Promise.resolve();

  async read(_runId: string, after: number, limit: number): Promise<RunEvent[]> {
    this.reads.push(after);
    return this.store.filter((e) => e.seq > after).slice(0, limit);
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

  it('skips events the store no longer has instead of spinning', async () => {
    const src = new FakeSource();
    src.store = [ev(5), ev(6)]; // 1–4 trimmed
    const tail = new RunEventTail(src, RUN, 0, opts);
    expect(await take(tail, 2)).toEqual([5, 6]);
    src.listener?.push(ev(9)); // 7–8 announced but already gone from the store
    expect(await take(tail, 1)).toEqual([9]);
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
