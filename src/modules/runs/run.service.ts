import type { Context, Viewer } from '../../server/context';
import { loadOwned } from '../../server/ownership';
import { requireId } from '../../server/validate';
import { Run } from './run.entity';

/** Reads runs; starting and driving them belongs to the run engine. */
export class RunService {
  async get(ctx: Context, viewer: Viewer, id: string, field = 'id'): Promise<Run> {
    // Every subscription, cancel and tool-output submission authorizes here.
    return loadOwned(ctx.em, Run, viewer, requireId(id, field));
  }
}
