import type { Context, Viewer } from '../../server/context';
import { badInput, notFound } from '../../server/errors';
import { ownedBy } from '../../server/ownership';
import { requireId } from '../../server/validate';
import { newId } from '../../db/base.entity';
import { Message, MessageRole } from '../messages/message.entity';
import { Run } from '../runs/run.entity';
import { comparisonBranchKey, requireComparisonModels } from './comparison';
import type { CompareModelsInput } from './branch.inputs';

/** A comparison as stored: its runs (in the order the models were given), each with the answer written so far. */
export interface Comparison {
  id: string;
  parentId: string | null;
  entries: { run: Run; message: Message | null }[];
}

/**
 * Several models answering one user message side by side. A comparison has no
 * table of its own: it is the runs that share `runs.comparison_id`.
 */
export class ComparisonService {
  async compare(ctx: Context, viewer: Viewer, input: CompareModelsInput): Promise<Comparison> {
    const models = requireComparisonModels(input.models);
    const conversation = await ctx.services.conversations.get(ctx, viewer, input.conversationId, 'conversationId');
    const parentId = requireId(input.parentId, 'parentId');
    const parent = await ctx.em.findOne(Message, { id: parentId, conversation: conversation.id });
    if (!parent) throw notFound('Message', parentId);
    if (parent.role !== MessageRole.USER) throw badInput('parentId', 'must be a USER message', { role: parent.role });
    // Every model is checked before any run starts, so a typo starts nothing.
    for (const model of models) {
      try {
        ctx.services.providers.resolve(model);
      } catch (err) {
        throw badInput('models', (err as Error).message, { model });
      }
    }
    const id = newId();
    // Each start gets its own entity manager: they run concurrently, and one manager is not shareable.
    const settled = await Promise.allSettled(
      models.map((model, i) =>
        ctx.services.runCommands.startRun(
          { ...ctx, em: ctx.em.fork() },
          viewer,
          { conversationId: conversation.id, messageId: parent.id, model },
          { branchKey: comparisonBranchKey(id, i), comparisonId: id },
        ),
      ),
    );
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const runs = settled.filter((s): s is PromiseFulfilledResult<Run> => s.status === 'fulfilled').map((s) => s.value);
    if (failure) {
      // All or nothing: the runs that did start are cancelled before the error is reported.
      await Promise.allSettled(runs.map((r) => ctx.services.runCommands.cancelRun({ ...ctx, em: ctx.em.fork() }, viewer, r.id)));
      throw failure.reason;
    }
    return { id, parentId: parent.id, entries: runs.map((run) => ({ run, message: null })) };
  }

  /** One statement: the comparison's runs joined with the messages they wrote last. */
  async get(ctx: Context, viewer: Viewer, id: string, field = 'id'): Promise<Comparison> {
    const comparisonId = requireId(id, field);
    const runs = await ctx.em.find(
      Run,
      { comparisonId, ...ownedBy(viewer) },
      { populate: ['responseMessage'], strategy: 'joined', orderBy: { branchKey: 'asc' } },
    );
    if (runs.length === 0) throw notFound('Comparison', comparisonId);
    return {
      id: comparisonId,
      parentId: runs[0].inputMessage?.id ?? null,
      entries: runs.map((run) => ({ run, message: run.responseMessage ?? null })),
    };
  }
}
