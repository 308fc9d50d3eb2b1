import type { AppendOptions, RunEvent, RunEventBody } from './run-event.types';
import { MemoryRunEventLog } from './memory-run-event-log';
import { RedisRunEventLog } from './redis-run-event-log';

export * from './run-event.types';
export { continues, isLostEpoch, type ReaderPosition } from './run-event-continuity';

/** Where a run's log stands: its last seq and its epoch (null when there is no log). */
export interface RunLogHead {
  seq: number;
  epoch: string | null;
}

export interface SubscribeOptions {
  /** The run's log must exist (the run is past QUEUED): a missing log is a loss, not a run yet to start. */
  expectLog?: boolean;
}

/**
 * The single source for streaming a run: workers append typed events, API
 * nodes replay and tail them. With Redis any node can serve any subscriber;
 * without it (single node) an in-memory twin gives the same semantics.
 */
export interface RunEventLog {
  /**
   * Appends atomically, assigning the next gap-free seq (1, 2, 3 …) for that run, and notifies live readers.
   * Appending after a terminal event throws. The run's first append passes `create`; any other that finds
   * no log recreates it marked lost, so readers end with EVENTS_LOST instead of skipping.
   */
  append(runId: string, body: RunEventBody, options?: AppendOptions): Promise<RunEvent>;
  /**
   * Appends several events as one: consecutive seqs, stored and announced together (one round trip, one
   * notification), all or none, in order with this process's other appends to the run. Only the last may
   * be terminal (RangeError otherwise). `append` coalesces on its own: calls made while an append of the
   * run is in flight go out together as one batch, each keeping its own event and outcome.
   */
  appendBatch(runId: string, bodies: readonly RunEventBody[], options?: AppendOptions): Promise<RunEvent[]>;
  /** Events with seq > after, in order (bounded by limit). */
  read(runId: string, after: number, limit?: number): Promise<RunEvent[]>;
  /**
   * Replays events after `after`, then yields live ones as they are appended,
   * with no gap and no duplicate even under races between replay and live
   * delivery; completes after yielding the terminal event; also completes
   * (returns) when `signal` aborts. If the run has no log at all (unknown or
   * expired) it waits for events — the caller authorizes runs before subscribing —
   * unless `expectLog` says it must exist. Throws EVENTS_LOST (RunEventLogError,
   * with `lastSafeSeq`) after the last event it can vouch for when continuity breaks.
   */
  subscribe(runId: string, after: number, signal?: AbortSignal, options?: SubscribeOptions): AsyncIterable<RunEvent>;
  /** Highest seq so far (0 if none). */
  lastSeq(runId: string): Promise<number>;
  /** Highest seq and the log's epoch, read together. */
  head(runId: string): Promise<RunLogHead>;
  /** Completes every open subscription and releases connections and timers. */
  close(): Promise<void>;
}

export interface RunEventLogOptions {
  /** Redis connection; without it the log lives in this process only. */
  redis?: { url: string; prefix: string };
  /** How long a run's log is kept after its terminal event. Default 86400 (one day). */
  retentionSeconds?: number;
  /** Approximate cap on events kept per run (oldest trimmed first). Default 100000. */
  maxLen?: number;
}

export const DEFAULT_RETENTION_SECONDS = 86_400;
export const DEFAULT_MAX_LEN = 100_000;
/**
 * A run that never reaches a terminal event (its worker died) would keep its
 * log forever; its first append sets this TTL so it eventually goes away.
 */
export const STALE_RUN_SECONDS = 7 * 86_400;

export function createRunEventLog(opts: RunEventLogOptions = {}): RunEventLog {
  const retentionSeconds = opts.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
  const maxLen = opts.maxLen ?? DEFAULT_MAX_LEN;
  if (!(retentionSeconds > 0)) throw new RangeError('retentionSeconds must be positive');
  if (!(maxLen >= 1)) throw new RangeError('maxLen must be at least 1');
  const staleSeconds = Math.max(retentionSeconds, STALE_RUN_SECONDS);
  return opts.redis
    ? new RedisRunEventLog({ ...opts.redis, retentionSeconds, maxLen, staleSeconds })
    : new MemoryRunEventLog({ retentionSeconds, maxLen, staleSeconds });
}
