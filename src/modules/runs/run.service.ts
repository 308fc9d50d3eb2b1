import type { Context, Viewer } from '../../server/context';
import { AppError, ErrorCode } from '../../server/errors';
import { loadOwned } from '../../server/ownership';
import { requireId } from '../../server/validate';
import type { RunEvent } from '../../events/run-event-log';
import { Run } from './run.entity';
import { isTerminalStatus } from './run-state';

/** Reads runs; starting and driving them belongs to the run engine. */
export class RunService {
  async get(ctx: Context, viewer: Viewer, id: string, field = 'id'): Promise<Run> {
    // Every subscription, cancel and tool-output submission authorizes here.
    return loadOwned(ctx.em, Run, viewer, requireId(id, field));
  }

  /**
   * A run's events after `after`, authorized before the iterator exists.
   * A finished run whose log is gone (past PARLEY_RUN_EVENT_RETENTION_S, or an
   * in-memory log lost in a restart) would otherwise wait forever for events
   * that never come: it is refused with EVENTS_EXPIRED and the run's status,
   * which `run(id)` still serves in full. The log is only looked at for runs
   * that have ended, so starting to watch a live run costs nothing extra.
   */
  async events(ctx: Context, viewer: Viewer, runId: string, after: number): Promise<AsyncIterable<RunEvent>> {
    const run = await this.get(ctx, viewer, runId, 'runId');
    const log = ctx.services.eventLog;
    if (isTerminalStatus(run.status) && (await log.lastSeq(run.id)) === 0) {
      throw new AppError(ErrorCode.EVENTS_EXPIRED, `The events of run ${run.id} are no longer kept; it ended ${run.status}: query run(id) for its result`, {
        runId: run.id,
        status: run.status,
      });
    }
    return log.subscribe(run.id, after);
  }
}
