import type { EntityManager } from '@mikro-orm/postgresql';
import type { Context, Viewer } from '../../server/context';
import { AppError, ErrorCode, badInput, conflict, notFound } from '../../server/errors';
import { requireId } from '../../server/validate';
import type { Conversation } from '../conversations/conversation.entity';
import { Message, MessageRole } from '../messages/message.entity';
import type { MessageService } from '../messages/message.service';
import { Run } from '../runs/run.entity';
import { ACTIVE_STATUSES } from '../runs/run-state';
import { ProviderError } from '../providers/provider.types';
import { reservedOutputTokens } from './context-builder';
import { ContextBudgetError, ContextErrorCode } from './context.errors';
import { MIN_SUMMARY_TOKENS } from './context-planner';
import type { ConversationSetup } from './context.service';
import type { MergeBranchesInput } from './context.inputs';
import type { ContextSummarizer } from './summarizer';
import { REPLY_PRIMING, countMessageTokens, tokenCounterFor } from './tokenizer';
import { formatTranscript } from './transcript';

/** The merge message may take at most this share of the room the system prompt leaves, so the target branch keeps the rest. */
const MERGE_SHARE = 1 / 2;

/** What the merge message says before the turns (or their summary). */
export function mergeMessageText(body: string, messageCount: number, summarized: boolean): string {
  const turns = `${messageCount} message${messageCount === 1 ? '' : 's'}`;
  return summarized
    ? `Merged from another branch of this conversation: a summary of the ${turns} exchanged there after this branch split off.\n\n${body}`
    : `Merged from another branch of this conversation: the ${turns} exchanged there after this branch split off.\n\n${body}`;
}

/**
 * The deepest common ancestor of two leaves (null when they share no root) and
 * the source branch's messages below it, root first: both walks up the tree in
 * one recursive statement.
 */
export async function sourceTurnsAfterFork(em: EntityManager, targetId: string, sourceId: string): Promise<{ forkId: string | null; turns: Message[] }> {
  const rows = await em.getConnection().execute<Record<string, unknown>[]>(
    `with recursive up as (
       select m.id, m.parent_id, m.depth, s.side
         from messages m join (values (?::uuid, 'target'), (?::uuid, 'source')) as s(leaf, side) on m.id = s.leaf
       union all
       select p.id, p.parent_id, p.depth, up.side from messages p join up on p.id = up.parent_id
     ), fork as (
       select id, depth from up group by id, depth having count(distinct side) = 2 order by depth desc limit 1
     )
     select f.fork_id, m.*
       from (select (select id from fork) as fork_id, (select depth from fork) as fork_depth) f
       left join up on up.side = 'source' and up.depth > coalesce(f.fork_depth, -1)
       left join messages m on m.id = up.id
      order by m.depth`,
    [targetId, sourceId],
    'all',
    em.getTransactionContext(),
  );
  const forkId = (rows[0]?.fork_id as string | null | undefined) ?? null;
  const turns = rows
    .filter((r) => r.id != null)
    .map((r) => {
      const { fork_id: _fork, ...row } = r;
      return em.map(Message, row);
    });
  return { forkId, turns };
}

/**
 * mergeBranches: the source branch's turns after the fork point become ONE
 * USER message appended to the target branch. USER, not SYSTEM: every chat
 * template accepts a user turn anywhere, while many OpenAI-compatible servers
 * reject a system message after the first, and a run can answer it directly.
 */
export class BranchMerge {
  constructor(
    private readonly messages: MessageService,
    private readonly summarizer: ContextSummarizer,
  ) {}

  async merge(
    ctx: Context,
    viewer: Viewer,
    input: MergeBranchesInput,
    setupOf: (c: Conversation) => Promise<ConversationSetup>,
  ): Promise<{ conversation: Conversation; message: Message }> {
    const targetId = requireId(input.targetLeafId, 'targetLeafId');
    const sourceId = requireId(input.sourceLeafId, 'sourceLeafId');
    if (targetId === sourceId) throw badInput('sourceLeafId', 'is the target leaf itself');
    const target = await this.messages.get(ctx, viewer, targetId, 'targetLeafId');
    const source = await this.messages.get(ctx, viewer, sourceId, 'sourceLeafId');
    // Leaves of two conversations never share a branch: the source is not found where it was looked for.
    if (source.conversation.id !== target.conversation.id) throw notFound('Message', sourceId);
    const { forkId, turns } = await sourceTurnsAfterFork(ctx.em, targetId, sourceId);
    if (forkId === targetId || forkId === sourceId) {
      throw badInput('sourceLeafId', 'one leaf is an ancestor of the other, so there is no separate branch to merge', { forkMessageId: forkId });
    }
    const sent = turns.filter((m) => !m.excluded);
    if (!sent.length) throw badInput('sourceLeafId', 'every message of the source branch after the fork point is excluded');

    const conversation = await ctx.em.findOneOrFail<Conversation>('Conversation', { id: target.conversation.id });
    const { model, systemPrompt } = await setupOf(conversation);
    const counter = tokenCounterFor(model.upstreamModel);
    const room = model.info.contextWindow - reservedOutputTokens(model.info) - REPLY_PRIMING - (systemPrompt ? countMessageTokens(counter, { content: systemPrompt }) : 0);
    const limit = Math.floor(room * MERGE_SHARE);
    let content = mergeMessageText(formatTranscript(sent), sent.length, false);
    const summarized = countMessageTokens(counter, { content }) > limit;
    if (summarized) {
      const bodyRoom = limit - countMessageTokens(counter, { content: mergeMessageText('', sent.length, true) });
      if (bodyRoom < MIN_SUMMARY_TOKENS) {
        throw new ContextBudgetError(ContextErrorCode.NO_ROOM, `the model's window leaves no room for a merged branch beside the system prompt`, bodyRoom, room);
      }
      let summary: string;
      try {
        summary = await this.summarizer.summarize({ messages: sent, maxTokens: bodyRoom, source: 'branch' });
      } catch (err) {
        throw new AppError(ErrorCode.INTERNAL_SERVER_ERROR, `The summary model ${this.summarizer.model} failed: ${err instanceof ProviderError ? err.userMessage : (err as Error).message}`);
      }
      content = mergeMessageText(counter.truncate(summary, bodyRoom), sent.length, true);
    }

    const message = await ctx.em.transactional(async (em) => {
      const busy = await em.findOne(
        Run,
        { conversation: conversation.id, status: { $in: [...ACTIVE_STATUSES] }, $or: [{ branchKey: targetId }, { responseMessage: targetId }] },
        { fields: ['id', 'status'] },
      );
      if (busy) throw conflict(`Run ${busy.id} is still ${busy.status} on the target branch`, { activeRunId: busy.id });
      const m = await this.messages.insert(em, conversation, targetId, { role: MessageRole.USER, content }, 'move');
      m.metadata = {
        merge: {
          sourceLeafId: sourceId,
          forkMessageId: forkId,
          messageIds: sent.map((t) => t.id),
          summarized,
          ...(summarized ? { summaryModel: this.summarizer.model } : {}),
        },
      };
      await em.flush();
      return m;
    });
    return { conversation, message };
  }
}
