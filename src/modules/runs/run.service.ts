import type { Context, Viewer } from '../../server/context';
import { notFound } from '../../server/errors';
import { ownedBy } from '../../server/ownership';
import { requireId } from '../../server/validate';
import { Run } from './run.entity';

/** Reads runs; starting and driving them belongs to the run engine. */
export class RunService {
  async get(ctx: Context, viewer: Viewer, id: string, field = 'id'): Promise<Run> {
    const runId = requireId(id, field);
    const run = await ctx.em.findOne(Run, { id: runId, ...ownedBy(viewer) });
    if (!run) throw notFound('Run', runId);
    return run;
  }
}
