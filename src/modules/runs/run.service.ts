import type { Context, Viewer } from '../../server/context';
import { AppError, ErrorCode, badInput, notFound } from '../../server/errors';
import { isAdmin, loadOwned } from '../../server/ownership';
import { prepared, preparedRows } from '../../db/sql';
import { requireId } from '../../server/validate';
import { eventsLost, isLostEpoch, isTerminal, type RunEvent } from '../../events/run-event-log';
import { Run, RunStatus } from './run.entity';
import { isTerminalStatus } from './run-state';

/** A subscription that completes at once: nothing is left to send. */
const NO_EVENTS: AsyncIterable<RunEvent> = {
  [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true, value: undefined }) }),
};

/** What authorizing a subscription needs of a run: one prepared statement, no entity. */
const RUN_STATUS = prepared('run_status_owned', 'select id, status from runs where id = ? and (owner_id = ? or ?)');

/** Reads runs; starting and driving them belongs to the run engine. */
export class RunService {
  async get(ctx: Context, viewer: Viewer, id: string, field = 'id'): Promise<Run> {
    // Every subscription, cancel and tool-output submission authorizes here.
    return loadOwned(ctx.em, Run, viewer, requireId(id, field));
  }

  /**
   * A run's events after `after`, authorized before the iterator exists.
   * Every subscription must end, so four cases are settled here instead of
   * waiting for events that will never come:
   * - a finished run whose log is gone (past PARLEY_RUN_EVENT_RETENTION_S, or
   *   an in-memory log lost in a restart): EVENTS_EXPIRED with its status,
   *   `run(id)` still serves it in full;
   * - a running run whose log was lost (Redis restarted without persistence):
   *   EVENTS_LOST with `lastSafeSeq` (the `after` given), read `run(id)`;
   * - a finished run the client has seen to the end (`after` ≥ its last seq,
   *   e.g. a reconnect after the terminal event): completes at once;
   * - `after` beyond the last seq of any run: BAD_USER_INPUT, since events at
   *   or below `after` are skipped and the terminal one might be among them.
   * The log's head is read only when it matters (an ended run, or a resume
   * from `after` > 0): starting to watch a new run costs nothing extra. The
   * tail checks continuity from there on, and fails with EVENTS_LOST too.
   */
  async events(ctx: Context, viewer: Viewer, runId: string, after: number): Promise<AsyncIterable<RunEvent>> {
    const id = requireId(runId, 'runId');
    const [run] = await preparedRows<{ id: string; status: RunStatus }>(ctx.em, RUN_STATUS, [id, viewer.id, isAdmin(viewer)]);
    if (!run) throw notFound('Run', id);
    const log = ctx.services.eventLog;
    const ended = isTerminalStatus(run.status);
    // A run past QUEUED, or one the client has seen events of, has a log: if it is missing, it was lost.
    const expectLog = after > 0 || run.status !== RunStatus.QUEUED;
    if (!ended && after === 0) return log.subscribe(run.id, after, undefined, { expectLog });
    const { seq: lastSeq, epoch } = await log.head(run.id);
    if (ended && epoch === null) {
      throw new AppError(ErrorCode.EVENTS_EXPIRED, `The events of run ${run.id} are no longer kept; it ended ${run.status}: query run(id) for its result`, {
        runId: run.id,
        status: run.status,
      });
    }
    if (epoch === null || isLostEpoch(epoch)) throw eventsLost(run.id, after);
    // The status turns terminal a moment before the terminal event is appended: complete only after it.
    if (ended && after === lastSeq && (await log.read(run.id, after - 1, 1)).some(isTerminal)) return NO_EVENTS;
    if (after > lastSeq) throw badInput('after', `run ${run.id} has no event ${after} (its last is ${lastSeq})`, { lastSeq });
    return log.subscribe(run.id, after, undefined, { expectLog });
  }
}
