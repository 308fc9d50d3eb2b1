import type { RunEventLog, RunLogHead, SubscribeOptions } from './run-event-log';
import { checkBatch, isTerminal, isoNow, logClosed, runEnded, type AppendOptions, type RunEvent, type RunEventBody } from './run-event.types';
import { DEFAULT_TAIL_OPTIONS, RunEventTail, type RunEventPage, type TailListener, type TailOptions } from './run-event-tail';
import { LOST_EPOCH_PREFIX, nextEpoch } from './run-event-continuity';

export interface MemoryRunEventLogOptions {
  retentionSeconds: number;
  maxLen: number;
  staleSeconds: number;
  tail?: TailOptions;
}

/** setTimeout fires at once beyond this (~24.8 days); a longer retention is capped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface RunState {
  /** Contiguous by seq; events[0] may be past 1 once trimmed to maxLen. */
  events: RunEvent[];
  lastSeq: number;
  /** Set by the first append; undefined while only listeners hold the state. */
  epoch: string | undefined;
  ended: boolean;
  listeners: Set<TailListener>;
  expiry: NodeJS.Timeout | null;
}

/**
 * Single-process twin of the Redis log, for the embedded (no REDIS_URL) mode
 * and for tests: same seq, terminal, retention and trimming rules. Appends are
 * synchronous under the hood, so atomicity comes from the event loop. It
 * loses a log only by expiry, but keeps the Redis log's epoch rules so the
 * twin and its tests cannot drift.
 * Events are shared with every subscriber: treat them as read-only.
 */
export class MemoryRunEventLog implements RunEventLog {
  private readonly runs = new Map<string, RunState>();
  private readonly tail: TailOptions;
  private closed = false;

  constructor(private readonly options: MemoryRunEventLogOptions) {
    this.tail = options.tail ?? DEFAULT_TAIL_OPTIONS;
  }

  async append(runId: string, body: RunEventBody, options: AppendOptions = {}): Promise<RunEvent> {
    if (this.closed) throw logClosed();
    const run = this.opened(runId, options);
    const event = this.store(runId, run, body, isoNow());
    for (const listener of run.listeners) listener.push(event);
    return event;
  }

  async appendBatch(runId: string, bodies: readonly RunEventBody[], options: AppendOptions = {}): Promise<RunEvent[]> {
    if (this.closed) throw logClosed();
    checkBatch(bodies);
    if (bodies.length === 0) return [];
    const run = this.opened(runId, options);
    const at = isoNow();
    const events = bodies.map((body) => this.store(runId, run, body, at));
    // Stored as a whole before any reader hears of it, as the Redis log's script does.
    for (const listener of run.listeners) for (const event of events) listener.push(event);
    return events;
  }

  /** The run's state, ready for appends: refused once ended, its epoch chosen by the first append. */
  private opened(runId: string, options: AppendOptions): RunState {
    const run = this.state(runId);
    if (run.ended) throw runEnded(runId);
    // No log yet: this append creates it, or finds it lost (expired under a run that still appends).
    run.epoch ??= options.create ? nextEpoch() : `${LOST_EPOCH_PREFIX}${nextEpoch()}`;
    return run;
  }

  private store(runId: string, run: RunState, body: RunEventBody, at: string): RunEvent {
    // Envelope last so a body carrying stray seq/runId/at/epoch cannot override it.
    const event = { ...body, seq: run.lastSeq + 1, runId, at, epoch: run.epoch } as RunEvent;
    run.lastSeq = event.seq;
    run.events.push(event);
    this.trim(run);
    if (isTerminal(body)) {
      run.ended = true;
      this.expireIn(runId, run, this.options.retentionSeconds);
    } else if (event.seq === 1) {
      this.expireIn(runId, run, this.options.staleSeconds);
    }
    return event;
  }

  async read(runId: string, after: number, limit?: number): Promise<RunEvent[]> {
    return this.slice(runId, after, limit);
  }

  private slice(runId: string, after: number, limit?: number): RunEvent[] {
    const run = this.runs.get(runId);
    if (!run || run.events.length === 0) return [];
    const start = Math.max(0, Math.floor(after) + 1 - run.events[0].seq);
    return run.events.slice(start, limit === undefined ? undefined : start + Math.max(0, limit));
  }

  subscribe(runId: string, after: number, signal?: AbortSignal, options?: SubscribeOptions): AsyncIterable<RunEvent> {
    if (this.closed) throw logClosed();
    return new RunEventTail(this, runId, after, this.tail, signal, options);
  }

  async lastSeq(runId: string): Promise<number> {
    return this.runs.get(runId)?.lastSeq ?? 0;
  }

  async head(runId: string): Promise<RunLogHead> {
    const run = this.runs.get(runId);
    return { seq: run?.lastSeq ?? 0, epoch: run?.epoch ?? null };
  }

  /** @internal The tail's store read. */
  async page(runId: string, after: number, limit: number): Promise<RunEventPage> {
    return { events: this.slice(runId, after, limit), epoch: this.runs.get(runId)?.epoch ?? null };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const run of this.runs.values()) {
      if (run.expiry) clearTimeout(run.expiry);
      for (const listener of [...run.listeners]) listener.end();
    }
    this.runs.clear();
  }

  /** @internal The tail's live feed; the listener set also keeps an unknown run's state alive. */
  listen(runId: string, listener: TailListener): { ready: Promise<void>; stop(): void } {
    if (this.closed) return { ready: Promise.reject(logClosed()), stop: () => undefined };
    const run = this.state(runId);
    run.listeners.add(listener);
    return {
      ready: Promise.resolve(),
      stop: () => {
        // The Set itself survives expiry (see expireIn), so delete through it.
        run.listeners.delete(listener);
        // Drop placeholder state created only to hold listeners of a run that never started.
        const current = this.runs.get(runId);
        if (current && current.listeners.size === 0 && current.lastSeq === 0) this.runs.delete(runId);
      },
    };
  }

  private state(runId: string): RunState {
    let run = this.runs.get(runId);
    if (!run) {
      run = { events: [], lastSeq: 0, epoch: undefined, ended: false, listeners: new Set(), expiry: null };
      this.runs.set(runId, run);
    }
    return run;
  }

  /** Approximate like Redis's `MAXLEN ~`: trim in batches, not on every append. */
  private trim(run: RunState): void {
    const excess = run.events.length - this.options.maxLen;
    if (excess > Math.max(1, this.options.maxLen >> 4)) run.events.splice(0, excess);
  }

  private expireIn(runId: string, run: RunState, seconds: number): void {
    if (run.expiry) clearTimeout(run.expiry);
    run.expiry = setTimeout(() => {
      if (this.runs.get(runId) !== run) return;
      this.runs.delete(runId);
      // Like an expired Redis key: subscribers still waiting keep waiting, on a fresh log.
      if (run.listeners.size > 0) this.state(runId).listeners = run.listeners;
    }, Math.min(seconds * 1000, MAX_TIMER_MS));
    // Retention must never keep the process alive.
    run.expiry.unref();
  }
}
