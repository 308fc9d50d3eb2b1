import type { EntityManager } from '@mikro-orm/postgresql';
import type { Context, Viewer } from '../../server/context';
import { badInput, notFound } from '../../server/errors';
import { isAdmin } from '../../server/ownership';
import { decodeCursor, encodeCursor, pageSize, toConnection, type Connection } from '../../server/relay';
import { LIMITS, optionalId, optionalText, requireId, requireListSize, requireText } from '../../server/validate';
import type { ConversationService } from '../conversations/conversation.service';
import type { Conversation } from '../conversations/conversation.entity';
import { Message, MessageRole, type ToolCallPart } from './message.entity';
import type { AppendMessageInput } from './message.inputs';
import type { MessageType } from './message.types';
import { insertMessage, type ActiveLeafPolicy } from './message-insert';

export interface NewMessage {
  role: MessageRole;
  content: string;
  reasoning?: string;
  toolCalls?: ToolCallPart[];
  toolCallId?: string;
  model?: string;
}

/** A path cursor is its depth: the same string in every conversation, so the common ones are encoded once. */
const PATH_CURSORS: string[] = [];
const pathCursor = (depth: number): string =>
  depth < 10_000 ? (PATH_CURSORS[depth] ??= encodeCursor('path', depth)) : encodeCursor('path', depth);

/** Deeper than any path can be (depth is a Postgres int). */
const MAX_DEPTH = 2_000_000_000;

export class MessageService {
  constructor(private readonly conversations: ConversationService) {}

  /** A message the viewer may see (through its conversation's owner), else NOT_FOUND. */
  async get(ctx: Context, viewer: Viewer, id: string, field = 'id'): Promise<Message> {
    const messageId = requireId(id, field);
    const where = isAdmin(viewer) ? { id: messageId } : { id: messageId, conversation: { owner: viewer.id } };
    const message = await ctx.em.findOne(Message, where);
    if (!message) throw notFound('Message', messageId);
    return message;
  }

  /** The branch root → leaf (the active leaf by default), paged by depth, as plain objects. */
  async path(
    ctx: Context,
    conversation: { id: string; activeLeafId: string | null },
    args: { first?: number | null; after?: string | null; leafId?: string | null },
  ): Promise<Connection<MessageType>> {
    const limit = pageSize(args.first);
    const afterDepth = decodeCursor('path', args.after, 'int');
    const leafId = optionalId(args.leafId, 'leafId') ?? conversation.activeLeafId;
    if (!leafId) return toConnection([], limit, () => '', false);
    const start = afterDepth === undefined ? 0 : afterDepth + 1;
    if (!Number.isSafeInteger(start) || start < 0 || start > MAX_DEPTH) throw badInput('after', 'is not a cursor from this list');
    // Only the page (and one more, for hasNextPage) is read in full and hydrated.
    const { leaf, messages } = await ctx.loaders.pathSlice.load({ leafId, fromDepth: start, limit: limit + 1 });
    if (!leaf || leaf.conversationId !== conversation.id) throw notFound('Message', leafId);
    return toConnection(messages, limit, (m) => pathCursor(m.depth), start > 0);
  }

  async append(ctx: Context, viewer: Viewer, input: AppendMessageInput): Promise<Message> {
    const conversation = await this.conversations.get(ctx, viewer, input.conversationId, 'conversationId');
    const parentId = input.asRoot ? undefined : (optionalId(input.parentId, 'parentId') ?? conversation.activeLeaf?.id);
    if (input.role === MessageRole.TOOL) await this.assertAnswersCall(ctx.em, conversation.id, parentId, input.toolCallId);
    const message = await ctx.em.transactional((em) =>
      this.insert(em, conversation, parentId, {
        role: input.role,
        // An assistant turn that only calls tools has no text, as the runs themselves store it.
        content: requireText(input.content, 'content', LIMITS.content, { allowEmpty: input.role === MessageRole.ASSISTANT && Boolean(input.toolCalls?.length) }),
        reasoning: optionalText(input.reasoning, 'reasoning', LIMITS.content),
        toolCalls: requireToolCalls(input.toolCalls),
        toolCallId: optionalText(input.toolCallId, 'toolCallId', 200),
        model: optionalText(input.model, 'model', LIMITS.model),
      }, input.setActive ? 'move' : 'keep'),
    );
    this.conversations.publish(conversation, 'MESSAGE_ADDED', message.id);
    return message;
  }

  /**
   * A TOOL message must answer a call of the ASSISTANT message it follows
   * (past the other answers of the same turn): a branch with a stray tool
   * result could never be sent to a model again. An unknown parent is left
   * to the insert, which answers NOT_FOUND.
   */
  private async assertAnswersCall(em: EntityManager, conversationId: string, parentId: string | undefined, toolCallId: string | null | undefined): Promise<void> {
    if (!toolCallId) throw badInput('toolCallId', 'is required for TOOL messages');
    if (parentId) {
      // The parent, and on up through the other answers of its turn: the walk stops at the first non-TOOL message.
      const chain = await em.getConnection().execute<{ role: MessageRole; tool_calls: ToolCallPart[] | null }[]>(
        `with recursive up as (
           select id, parent_id, role, tool_calls from messages where id = ? and conversation_id = ?
           union all
           select m.id, m.parent_id, m.role, m.tool_calls from messages m join up on m.id = up.parent_id where up.role = 'TOOL'
         )
         select role, tool_calls from up`,
        [parentId, conversationId],
      );
      if (!chain.length) return;
      const turn = chain.find((m) => m.role !== MessageRole.TOOL);
      if (turn?.role === MessageRole.ASSISTANT && (turn.tool_calls ?? []).some((c) => c.id === toolCallId)) return;
    }
    throw badInput('toolCallId', `answers no tool call of the assistant message before it: ${JSON.stringify(toolCallId)}`);
  }

  /** Adds one message under a parent of the same conversation, in the caller's transaction. */
  insert(
    em: EntityManager,
    conversation: Pick<Conversation, 'id'>,
    parentId: string | undefined,
    data: NewMessage,
    activeLeaf: ActiveLeafPolicy,
  ): Promise<Message> {
    return insertMessage(em, conversation.id, parentId, data, activeLeaf);
  }
}

/** appendMessage's tool calls, bounded in number and in each part's length, as imports bound them. */
function requireToolCalls(calls: AppendMessageInput['toolCalls']): ToolCallPart[] | undefined {
  requireListSize(calls, 'toolCalls', LIMITS.toolCalls);
  return calls?.map((t) => ({
    id: requireText(t.id, 'toolCalls.id', LIMITS.toolCallId),
    name: requireText(t.name, 'toolCalls.name', LIMITS.toolCallId),
    arguments: requireText(t.arguments, 'toolCalls.arguments', LIMITS.content, { allowEmpty: true }),
  }));
}
