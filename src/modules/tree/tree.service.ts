import type { Context, Viewer } from '../../server/context';
import { badInput, notFound } from '../../server/errors';
import { pageSize, toConnection, type Connection } from '../../server/relay';
import { requireId } from '../../server/validate';
import { Conversation } from '../conversations/conversation.entity';
import type { Message } from '../messages/message.entity';
import type { UsageColumns } from '../usage/usage.types';
import { branchCursor, decodeBranchCursor, decodeTreeCursor, treeCursor } from './tree-cursor';
import { selectBranches, selectTreePage, updateActiveLeaf, type TreeNodeRow } from './tree.sql';
import type { SetActiveLeafInput } from './tree.inputs';

export interface Branch {
  leaf: Message;
  length: number;
  lastActivityAt: Date;
  usage: UsageColumns;
  isActive: boolean;
}

interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/**
 * Read-side navigation of a conversation tree, plus moving the active branch.
 * Every page is one SQL statement. The conversation arrives already resolved
 * for the viewer (the parent field checked ownership).
 */
export class TreeService {
  async branches(ctx: Context, conversation: { id: string; activeLeafId: string | null }, args: PageArgs): Promise<Connection<Branch>> {
    const limit = pageSize(args.first);
    const after = decodeBranchCursor(args.after);
    const rows = await selectBranches(ctx.em, conversation.id, limit + 1, after);
    const branches = rows.map((r) => ({
      leaf: r.leaf,
      length: r.leaf.depth + 1,
      lastActivityAt: r.leaf.updatedAt,
      usage: r.usage,
      isActive: r.leaf.id === conversation.activeLeafId,
      activity: r.activity,
    }));
    return toConnection(branches, limit, (b) => branchCursor({ activity: b.activity, leafId: b.leaf.id }), Boolean(after));
  }

  async tree(ctx: Context, conversation: { id: string }, args: PageArgs): Promise<Connection<TreeNodeRow>> {
    const limit = pageSize(args.first);
    const after = decodeTreeCursor(args.after);
    const rows = await selectTreePage(ctx.em, conversation.id, limit + 1, after);
    if (!rows) throw badInput('after', 'names a message that is no longer in this conversation');
    return toConnection(rows, limit, (n) => treeCursor(n.id), Boolean(after));
  }

  /**
   * Moves the active branch to any message of the conversation; an inner
   * message makes the path to it the active branch (the next sendMessage
   * answers it). A message of another conversation is NOT_FOUND, like a
   * missing one.
   */
  async setActiveLeaf(ctx: Context, viewer: Viewer, input: SetActiveLeafInput): Promise<Conversation> {
    const conversation = await ctx.services.conversations.get(ctx, viewer, input.conversationId, 'conversationId');
    const messageId = requireId(input.messageId, 'messageId');
    const row = await updateActiveLeaf(ctx.em, conversation.id, messageId);
    if (!row) throw notFound('Message', messageId);
    const updated = ctx.em.map(Conversation, row);
    ctx.services.conversations.publish(updated, 'CONVERSATION_UPDATED');
    return updated;
  }
}
