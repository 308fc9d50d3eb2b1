import type { Context, Viewer } from '../../server/context';
import { notFound } from '../../server/errors';
import { isAdmin } from '../../server/ownership';
import { requireId } from '../../server/validate';
import { Run } from './run.entity';

/** Reads runs; starting and driving them belongs to the run engine. */
export class RunService {
  async get(ctx: Context, viewer: Viewer, id: string, field = 'id'): Promise<Run> {
    const runId = requireId(id, field);
    // Every subscription, cancel and tool-output submission authorizes here: one plain statement.
    const [row] = await ctx.em.getConnection().execute<Record<string, unknown>[]>(
      'select * from runs where id = ? and (owner_id = ? or ?)',
      [runId, viewer.id, isAdmin(viewer)],
    );
    if (!row) throw notFound('Run', runId);
    return ctx.em.map(Run, row);
  }
}
