import { eventsLost, isTerminal, type RunEvent } from './run-event.types';
import { continues, type ReaderPosition } from './run-event-continuity';

/**
 * One subscriber's view of a run: replay from the store, then live events,
 * shared by the memory and Redis logs so both have the same ordering,
 * dedupe, gap-fill and backpressure behaviour.
 *
 * The invariant that makes it race-free: the live listener is registered (and,
 * for Redis, the SUBSCRIBE acknowledged) *before* the first read. Any event the
 * read misses was therefore appended later and reaches the listener. Events are
 * yielded strictly as `cursor + 1`; anything at or below the cursor is a
 * duplicate (replay and live overlap), anything above it is a gap that the
 * store fills, because an event is stored before it is announced.
 *
 * Seq order alone cannot tell a duplicate from an event of a log that was
 * lost and recreated (its seqs start again at 1), so every event — duplicates
 * included — and every store read is checked with `continues()` first; a
 * break ends the iterator with EVENTS_LOST after the last event it vouches for.
 */

/** What the tail needs from a log implementation. */
export interface TailSource {
  /** Events after `after` and the log's epoch (null: no log), read together. */
  page(runId: string, after: number, limit: number): Promise<RunEventPage>;
  /** Starts live delivery to `listener`; `ready` resolves once no later append can be missed. */
  listen(runId: string, listener: TailListener): { ready: Promise<void>; stop(): void };
}

export interface RunEventPage {
  events: RunEvent[];
  epoch: string | null;
}

export interface TailListener {
  /** A live event, in append order. Must be cheap: called once per event per subscriber. */
  push(event: RunEvent): void;
  /** Live delivery may have lost events (e.g. reconnect): catch up from the store. */
  resync(): void;
  /** The log is closing: complete the subscription. */
  end(): void;
}

export interface TailOptions {
  /** Live events held for a consumer that lags; past this the buffer is dropped and the tail reads the store instead. */
  bufferSize: number;
  /** Events per store read while replaying or catching up. */
  pageSize: number;
}

export const DEFAULT_TAIL_OPTIONS: TailOptions = { bufferSize: 1024, pageSize: 500 };

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
const NONE: RunEvent[] = [];

/**
 * A hand-written iterator rather than an async generator: a generator cannot
 * be stopped while it awaits, so a GraphQL client unsubscribing from an idle
 * run would keep its listener until the next event. Here `return()` (and the
 * abort signal) release everything at once and settle a pending `next()`.
 * Like any async iterator, `next()` must not be called again before it settles.
 */
export class RunEventTail implements AsyncIterableIterator<RunEvent>, TailListener {
  /** The reader's position: `seq` is the cursor, the last seq yielded (or the `after` given). */
  private readonly pos: ReaderPosition;
  private page: RunEvent[] = NONE;
  private pageAt = 0;
  private live: RunEvent[] = [];
  private liveAt = 0;
  private mustRead = true;
  /** A gap was seen in live events and a store read has been issued since. */
  private gapReadIssued = false;
  private gapPending = false;
  private started = false;
  private ready = false;
  private failure: unknown = null;
  private finished = false;
  private wake: (() => void) | null = null;
  private stopListening: (() => void) | null = null;
  private readonly onAbort = () => this.finish();

  constructor(
    private readonly source: TailSource,
    private readonly runId: string,
    after: number,
    private readonly options: TailOptions,
    private readonly signal?: AbortSignal,
    continuity: { expectLog?: boolean } = {},
  ) {
    this.pos = { seq: Math.max(0, Math.floor(after)), epoch: undefined, expectLog: continuity.expectLog === true };
    if (signal?.aborted) this.finished = true;
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  push(event: RunEvent): void {
    if (this.finished) return;
    if (this.live.length - this.liveAt >= this.options.bufferSize) {
      // The consumer lags: drop what is buffered rather than grow without
      // bound; the store still has it and the next read picks it up.
      this.live = [];
      this.liveAt = 0;
      this.mustRead = true;
    }
    this.live.push(event);
    this.wakeUp();
  }

  resync(): void {
    this.mustRead = true;
    this.wakeUp();
  }

  end(): void {
    this.finish();
  }

  async next(): Promise<IteratorResult<RunEvent>> {
    try {
      return await this.advance();
    } catch (err) {
      this.finish();
      throw err;
    }
  }

  async return(): Promise<IteratorResult<RunEvent>> {
    this.finish();
    return DONE;
  }

  private async advance(): Promise<IteratorResult<RunEvent>> {
    if (!this.started && !this.finished) this.start();
    while (!this.finished) {
      if (this.failure) throw this.failure;
      if (!this.ready) {
        await this.sleep();
        continue;
      }
      const event = this.take();
      if (event) {
        this.pos.seq = event.seq;
        this.gapReadIssued = false;
        if (isTerminal(event)) this.finish();
        return { done: false, value: event };
      }
      if (this.mustRead) {
        await this.readStore();
        continue;
      }
      await this.sleep();
    }
    return DONE;
  }

  /** Listening starts on the first `next()`, so an iterable nobody iterates holds nothing. */
  private start(): void {
    this.started = true;
    const { ready, stop } = this.source.listen(this.runId, this);
    this.stopListening = stop;
    ready.then(
      () => {
        this.ready = true;
        this.wakeUp();
      },
      (err: unknown) => {
        this.failure = err ?? new Error('run event subscription failed');
        this.wakeUp();
      },
    );
  }

  private async readStore(): Promise<void> {
    this.mustRead = false;
    if (this.gapPending) {
      this.gapPending = false;
      this.gapReadIssued = true;
    }
    const { events: page, epoch } = await this.source.page(this.runId, this.pos.seq, this.options.pageSize);
    if (this.finished) return;
    this.check(epoch);
    this.page = page;
    this.pageAt = 0;
    // A full page means there may be more; keep reading before trusting live events.
    if (page.length === this.options.pageSize) this.mustRead = true;
  }

  private take(): RunEvent | undefined {
    while (this.pageAt < this.page.length) {
      const e = this.page[this.pageAt++];
      // Pages come from the store, which is authoritative: a jump past
      // cursor + 1 means older events were trimmed or expired, not delayed.
      this.check(e.epoch, e.seq);
      if (e.seq > this.pos.seq) return e;
    }
    this.page = NONE;
    this.pageAt = 0;
    while (this.liveAt < this.live.length) {
      const e = this.live[this.liveAt];
      this.check(e.epoch);
      if (e.seq <= this.pos.seq) {
        this.liveAt++;
        continue;
      }
      if (e.seq === this.pos.seq + 1) {
        this.liveAt++;
        return e;
      }
      // A gap read brought nothing new: the missing events are gone from the store (trimmed or expired).
      if (this.gapReadIssued) throw eventsLost(this.runId, this.pos.seq);
      this.gapPending = true;
      this.mustRead = true;
      return undefined;
    }
    if (this.liveAt > 0) {
      this.live.length = 0;
      this.liveAt = 0;
    }
    return undefined;
  }

  /** Throws EVENTS_LOST unless `epoch` (and `seq`, from the store) continue what this tail has yielded. */
  private check(epoch: string | null | undefined, seq?: number): void {
    if (!continues(this.pos, epoch, seq)) throw eventsLost(this.runId, this.pos.seq);
    if (epoch) this.pos.epoch = epoch;
  }

  private sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private wakeUp(): void {
    const wake = this.wake;
    if (wake) {
      this.wake = null;
      wake();
    }
  }

  /** Idempotent: reached by the terminal event, return(), abort, errors and log close. */
  private finish(): void {
    this.finished = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    const stop = this.stopListening;
    this.stopListening = null;
    stop?.();
    this.live = [];
    this.liveAt = 0;
    this.page = NONE;
    this.wakeUp();
  }
}
