import type { EntityManager } from '@mikro-orm/postgresql';
import type { Context, Viewer } from '../../server/context';
import { badInput, conflict } from '../../server/errors';
import { LIMITS, requireText } from '../../server/validate';
import { newId } from '../../db/base.entity';
import { Conversation } from '../conversations/conversation.entity';
import { Message, MessageRole } from '../messages/message.entity';
import type { Run } from '../runs/run.entity';
import { activeRunThrough, editContentInPlace, insertForkCopies, selectForkNodes } from './branch.sql';
import { forgetSummariesThrough } from '../context/context-summary.sql';
import { forkTitle, planFork, type ForkOrigin } from './fork';
import { readEdits, type MessageEdit } from './message-edits';
import type { EditMessageInput, ForkConversationInput, RegenerateMessageInput } from './branch.inputs';

/**
 * Write-side branching: edits, regenerations and forks. Runs are started only
 * through RunCommandService, so the one-active-run-per-branch policy and the
 * run lifecycle stay in one place. Built once per process; the services it
 * drives come with the request context.
 */
export class BranchService {
  /**
   * Default: a new USER sibling carrying the new content, answered by a new
   * run, on a branch of its own that becomes active; the old branch is left as
   * it was. In place: the content changes where it is and the old text goes to
   * the edit history.
   */
  async editMessage(ctx: Context, viewer: Viewer, input: EditMessageInput): Promise<{ message: Message; run: Run | null }> {
    const message = await ctx.services.messages.get(ctx, viewer, input.messageId, 'messageId');
    const content = requireText(input.content, 'content', LIMITS.content);
    if (input.inPlace) return { message: await this.editInPlace(ctx, message, content), run: null };
    if (message.role !== MessageRole.USER) {
      throw badInput('messageId', 'only USER messages can be edited into a new branch (SYSTEM messages: use inPlace)', { role: message.role });
    }
    await this.assertNoRunThrough(ctx.em, message);
    const parentId = message.parent?.id;
    // A root has no parent to name: without asRoot, sendMessage would append under the active leaf.
    return ctx.services.runCommands.sendMessage(
      ctx,
      viewer,
      { conversationId: message.conversation.id, parentId, content },
      { asRoot: parentId === undefined },
    );
  }

  /**
   * A new run answering what the assistant message answered (the input of the
   * run that wrote it, else its parent), so the new answer is its sibling. The
   * active branch moves to that message first, so the new answer is followed
   * as it is written, like after sendMessage.
   */
  async regenerateMessage(ctx: Context, viewer: Viewer, input: RegenerateMessageInput): Promise<Run> {
    const message = await ctx.services.messages.get(ctx, viewer, input.messageId, 'messageId');
    if (message.role !== MessageRole.ASSISTANT) throw badInput('messageId', 'must be an ASSISTANT message', { role: message.role });
    const writer = message.run ? await ctx.loaders.runById.load(message.run.id) : null;
    const answered = writer?.inputMessage?.id ?? message.parent?.id;
    if (!answered) throw badInput('messageId', 'answers no message: it is a root');
    const conversationId = message.conversation.id;
    const conversation = await ctx.em.findOneOrFail(Conversation, { id: conversationId });
    const previousLeaf = conversation.activeLeaf?.id ?? null;
    await ctx.em.nativeUpdate(Conversation, { id: conversationId }, { activeLeaf: answered, updatedAt: new Date() });
    try {
      return await ctx.services.runCommands.startRun(ctx, viewer, {
        conversationId,
        messageId: answered,
        model: input.model,
        agentId: input.agentId,
      });
    } catch (err) {
      // Put the view back unless something else has moved it meanwhile.
      await ctx.em.nativeUpdate(Conversation, { id: conversationId, activeLeaf: answered }, { activeLeaf: previousLeaf });
      throw err;
    }
  }

  /** Copies part of the message's tree into a new conversation owned by the viewer, in one transaction. */
  async forkConversation(ctx: Context, viewer: Viewer, input: ForkConversationInput): Promise<Conversation> {
    const message = await ctx.services.messages.get(ctx, viewer, input.messageId, 'messageId');
    const title = input.title == null ? undefined : requireText(input.title, 'title', LIMITS.title);
    const source = await ctx.em.findOneOrFail(Conversation, { id: message.conversation.id });
    const { forkedFrom: _sourceOrigin, ...settings } = source.settings;
    const forkedFrom: ForkOrigin = { conversationId: source.id, messageId: message.id, mode: input.mode };
    const id = await ctx.em.transactional(async (em) => {
      const nodes = await selectForkNodes(em, source.id, message.id, input.mode);
      const plan = planFork(nodes, { messageId: message.id, mode: input.mode, sourceActiveLeafId: source.activeLeaf?.id ?? null, newId });
      const conversation = em.create(Conversation, {
        owner: viewer.id,
        title: title ?? forkTitle(source.title, LIMITS.title),
        tags: [...source.tags],
        settings: { ...settings, forkedFrom },
        // The source's agent belongs to the source's owner: only an owner forking their own conversation keeps it.
        agent: source.owner.id === viewer.id ? source.agent : undefined,
      });
      await em.flush();
      await insertForkCopies(em, conversation.id, plan.copies);
      await em.nativeUpdate(Conversation, { id: conversation.id }, { activeLeaf: plan.activeLeafId });
      return conversation.id;
    });
    return ctx.em.findOneOrFail(Conversation, { id }, { refresh: true });
  }

  /** Edit history of a message, from the request's identity map when the message is already there. */
  async edits(ctx: Context, messageId: string): Promise<MessageEdit[]> {
    const known = ctx.em.getUnitOfWork().getById<Message>(Message.name, messageId);
    const message = known ?? (await ctx.loaders.messageById.load(messageId));
    return readEdits(message?.metadata);
  }

  /** Where a conversation was forked from, if it was. */
  async forkedFrom(ctx: Context, conversationId: string): Promise<ForkOrigin | null> {
    const known = ctx.em.getUnitOfWork().getById<Conversation>(Conversation.name, conversationId);
    const conversation = known ?? (await ctx.em.findOne(Conversation, { id: conversationId }));
    return conversation?.settings.forkedFrom ?? null;
  }

  private async editInPlace(ctx: Context, message: Message, content: string): Promise<Message> {
    if (message.role !== MessageRole.USER && message.role !== MessageRole.SYSTEM) {
      throw badInput('messageId', 'only USER and SYSTEM messages can be edited in place', { role: message.role });
    }
    if (content === message.content) return message;
    const conversationId = message.conversation.id;
    const row = await ctx.em.transactional(async (em) => {
      await this.assertNoRunThrough(em, message);
      const updated = await editContentInPlace(em, message.id, content, new Date());
      // A stored summary that covers the old text would keep feeding it to the model.
      await forgetSummariesThrough(em, message);
      await em.nativeUpdate(Conversation, { id: conversationId }, { updatedAt: new Date() });
      return updated;
    });
    const edited = ctx.em.map(Message, row);
    const conversation = await ctx.em.findOneOrFail(Conversation, { id: conversationId });
    ctx.services.conversations.publish(conversation, 'CONVERSATION_UPDATED', message.id);
    return edited;
  }

  /**
   * A run whose branch passes through the message (it answers the message or
   * something below it) is still reading or writing that branch: editing or
   * re-answering it now is CONFLICT, like a second run on a busy branch.
   */
  private async assertNoRunThrough(em: EntityManager, message: Message): Promise<void> {
    const busy = await activeRunThrough(em, message.conversation.id, message.id);
    if (busy) throw conflict(`Run ${busy} is still active on this branch`, { activeRunId: busy });
  }
}
