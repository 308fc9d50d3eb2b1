import type { Context, Viewer } from '../../server/context';
import { badInput, notFound } from '../../server/errors';
import { LIMITS, optionalId, requireJsonSize, requireText } from '../../server/validate';
import { newId } from '../../db/base.entity';
import { Conversation } from '../conversations/conversation.entity';
import { planImport } from './import-tree';
import type { ImportDraft } from './import-draft';
import { parseParleyDocument, toParleyDocument, type ParleyDocument } from './parley-format';
import { parseOpenAIMessages, toOpenAIMessages } from './openai-format';
import { insertMessages, selectBranchRows, selectConversationRows, type MessageRow } from './transfer.sql';
import { ConversationFormat } from './transfer.types';
import type { ImportConversationInput } from './transfer.inputs';

export const DEFAULT_IMPORT_TITLE = 'Imported conversation';

/** Moving conversations in and out as documents. Built once per process; state arrives with the context. */
export class TransferService {
  async export(
    ctx: Context,
    viewer: Viewer,
    args: { id: string; format: ConversationFormat; leafId?: string | null },
  ): Promise<ParleyDocument | unknown[]> {
    const conversation = await ctx.services.conversations.get(ctx, viewer, args.id);
    const leafArg = optionalId(args.leafId, 'leafId');
    if (args.format === ConversationFormat.PARLEY) {
      if (leafArg) throw badInput('leafId', 'applies to OPENAI_MESSAGES only: PARLEY exports the whole tree');
      return toParleyDocument(conversation, await selectConversationRows(ctx.em, conversation.id));
    }
    const leafId = leafArg ?? conversation.activeLeaf?.id;
    if (!leafId) return [];
    const path = await selectBranchRows(ctx.em, conversation.id, leafId);
    if (path.length === 0) throw notFound('Message', leafId);
    return toOpenAIMessages(path);
  }

  /**
   * Validates the whole document first (nothing is written on error), then
   * writes the conversation and its messages in one transaction, messages in
   * multi-row inserts, ids fresh and mapped from the document's.
   */
  async import(ctx: Context, viewer: Viewer, input: ImportConversationInput): Promise<{ conversation: Conversation; messageCount: number }> {
    // Nesting is bounded before anything walks the document: a deep one would overflow the stack where it is serialized.
    requireJsonSize(input.data, 'data', LIMITS.jsonDepth);
    const draft = input.format === ConversationFormat.PARLEY ? parseParleyDocument(input.data) : parseOpenAIMessages(input.data);
    const title = input.title == null ? (draft.title ?? DEFAULT_IMPORT_TITLE) : requireText(input.title, 'title', LIMITS.title);
    if (draft.settings.model) this.checkModel(ctx, draft.settings.model);
    const { rows, activeLeafId } = this.plan(draft);
    const id = await ctx.em.transactional(async (em) => {
      const conversation = em.create(Conversation, { owner: viewer.id, title, tags: draft.tags, settings: draft.settings });
      await em.flush();
      await insertMessages(em, conversation.id, rows);
      if (activeLeafId) await em.nativeUpdate(Conversation, { id: conversation.id }, { activeLeaf: activeLeafId });
      return conversation.id;
    });
    return { conversation: await ctx.em.findOneOrFail(Conversation, { id }, { refresh: true }), messageCount: rows.length };
  }

  private plan(draft: ImportDraft): { rows: MessageRow[]; activeLeafId: string | null } {
    const planned = planImport(draft.messages, draft.depths, newId);
    const now = new Date();
    const rows = planned.map((p): MessageRow => {
      const m = draft.messages[p.index];
      return {
        id: p.id,
        parentId: p.parentId,
        depth: p.depth,
        role: m.role,
        content: m.content,
        reasoning: m.reasoning,
        toolCalls: m.toolCalls,
        toolCallId: m.toolCallId,
        model: m.model,
        ...m.usage,
        latencyMs: m.latencyMs,
        status: m.status,
        createdAt: m.createdAt ?? now,
        pinned: m.pinned,
        excluded: m.excluded,
      };
    });
    const activeKey = draft.activeLeafKey ?? draft.messages.at(-1)?.key ?? null;
    const activeIndex = activeKey === null ? -1 : draft.messages.findIndex((m) => m.key === activeKey);
    const activeLeafId = planned.find((p) => p.index === activeIndex)?.id ?? null;
    return { rows, activeLeafId };
  }

  /** The document's default model must be one this server can run, as for createConversation. */
  private checkModel(ctx: Context, model: string): void {
    try {
      ctx.services.providers.resolve(model);
    } catch (err) {
      throw badInput('conversation.settings.model', (err as Error).message);
    }
  }
}
