import { randomBytes } from 'node:crypto';

/**
 * How a reader knows the events it is handed continue the ones it already has.
 *
 * `seq` alone cannot say: when Redis loses a run's log (a restart without
 * persistence, an eviction), the next append starts again at seq 1 and a
 * reader that dedupes by seq would skip the new events as already seen. So
 * each incarnation of a run's log has an epoch, chosen by the append that
 * creates it and stored with the log and in every event:
 *
 * - the run's first append (QUEUED, `create: true`) starts the log's epoch;
 * - any other append that finds no log starts a *lost* epoch: the log is
 *   back, but what it had before is gone;
 * - a reader adopts the first epoch it sees and trusts only that one.
 */

/** Epochs of logs recreated by an append that found the log gone start with this. */
export const LOST_EPOCH_PREFIX = 'lost:';

const PROCESS_TAG = randomBytes(6).toString('base64url');
let epochs = 0;

/**
 * A fresh epoch, offered with every append and used only when the append
 * creates (or recreates) the log. Unique per process by a counter, across
 * processes by a random tag: cheap enough to make one per token. JSON-safe.
 */
export function nextEpoch(): string {
  epochs = (epochs + 1) % Number.MAX_SAFE_INTEGER;
  return `${PROCESS_TAG}.${epochs.toString(36)}`;
}

export const isLostEpoch = (epoch: string): boolean => epoch.startsWith(LOST_EPOCH_PREFIX);

/** What a reader can vouch for so far. */
export interface ReaderPosition {
  /** The last seq it can vouch for (the last one it yielded, or the `after` its client passed). */
  seq: number;
  /** The epoch of the log its events came from, once it has seen one. */
  epoch: string | undefined;
  /** The run's log must exist already (the run is past QUEUED, or the client has seen events). */
  expectLog: boolean;
}

/**
 * The one rule for continuity, used by every reader for every event and
 * every store read (positional arguments: it runs once per event per
 * subscriber). What the reader observes is an event's `epoch` — with its
 * `seq` when it comes from the store, where a jump past the next seq means
 * events were trimmed or expired — or a log's head epoch, null when there is
 * no log at all. False means the reader cannot prove that nothing was lost
 * between its position and what it observes: it must end with EVENTS_LOST at
 * `reader.seq`.
 */
export function continues(reader: ReaderPosition, epoch: string | null | undefined, seq?: number): boolean {
  // No log: fine while the run has not started; a loss once the reader knows it existed.
  if (epoch === null) return reader.seq === 0 && !reader.expectLog;
  if (epoch !== undefined) {
    if (isLostEpoch(epoch)) return false;
    if (reader.epoch !== undefined && reader.epoch !== epoch) return false;
  }
  return seq === undefined || seq <= reader.seq + 1;
}
