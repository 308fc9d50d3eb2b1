import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import { notFound } from '../../server/errors';
import { ConversationType } from '../conversations/conversation.types';
import { toConversationType } from '../conversations/conversation.mappers';
import { AgentType } from '../agents/agent.types';
import { toAgentType } from '../agents/agent.mappers';
import { RunObject } from '../runs/run.types';
import { toRunObject } from '../runs/run.mappers';
import { MessageType } from './message.types';
import { toMessageType } from './message.mappers';
import { AppendMessageInput } from './message.inputs';
import { AppendMessagePayload } from './message.payloads';
import { siblingGroup } from './message-tree.sql';
import { MAX_PAGE_SIZE } from '../../server/relay';

/**
 * Unpaged reply lists stop here: the query cost limit counts `children` and
 * `siblings` as this many, so a node with more replies cannot make a small
 * document answer far more than it was costed at. All of them: Conversation.tree.
 */
const MAX_LISTED_REPLIES = MAX_PAGE_SIZE;

@Resolver(() => MessageType)
export class MessageResolver {
  @Query(() => MessageType, { description: 'One message by id.' })
  async message(
    @Arg('id', () => ID, { description: 'Message id.' }) id: string,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<MessageType> {
    return toMessageType(await ctx.services.messages.get(ctx, viewer, id));
  }

  @Mutation(() => AppendMessagePayload, { description: 'Adds a message under a parent without starting a run.' })
  async appendMessage(
    @Arg('input', () => AppendMessageInput, { description: 'The message.' }) input: AppendMessageInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<AppendMessagePayload> {
    return { message: toMessageType(await ctx.services.messages.append(ctx, viewer, input)) };
  }

  @FieldResolver(() => MessageType, { nullable: true, description: 'Parent message; null for a root.' })
  async parent(@Root() message: MessageType, @Ctx() ctx: Context): Promise<MessageType | null> {
    if (!message.parentId) return null;
    const parent = await ctx.loaders.plainMessageById.load(message.parentId);
    if (!parent) throw notFound('Message', message.parentId);
    return parent;
  }

  @FieldResolver(() => [MessageType], {
    description: 'Replies to this message, oldest first (the first 100; Conversation.tree pages through every one); more than one means branches.',
  })
  async children(@Root() message: MessageType, @Ctx() ctx: Context): Promise<MessageType[]> {
    const group = await ctx.loaders.childrenOf.load(siblingGroup(message.conversationId, message.id));
    return group.slice(0, MAX_LISTED_REPLIES).map(toMessageType);
  }

  @FieldResolver(() => [MessageType], {
    description: 'Messages sharing this parent, this one included, oldest first (the first 100; siblingCount counts them all).',
  })
  async siblings(@Root() message: MessageType, @Ctx() ctx: Context): Promise<MessageType[]> {
    const group = await ctx.loaders.childrenOf.load(siblingGroup(message.conversationId, message.parentId));
    return group.slice(0, MAX_LISTED_REPLIES).map(toMessageType);
  }

  @FieldResolver(() => Int, { description: 'Position among siblings, from 0 (for "2 of 3" navigation).' })
  async siblingIndex(@Root() message: MessageType, @Ctx() ctx: Context): Promise<number> {
    const group = await ctx.loaders.childrenOf.load(siblingGroup(message.conversationId, message.parentId));
    return Math.max(0, group.findIndex((m) => m.id === message.id));
  }

  @FieldResolver(() => Int, { description: 'Number of siblings, this one included.' })
  async siblingCount(@Root() message: MessageType, @Ctx() ctx: Context): Promise<number> {
    return (await ctx.loaders.childrenOf.load(siblingGroup(message.conversationId, message.parentId))).length;
  }

  @FieldResolver(() => ConversationType, { description: 'The conversation the message belongs to.' })
  async conversation(@Root() message: MessageType, @Ctx() ctx: Context, @CurrentViewer() viewer: Viewer): Promise<ConversationType> {
    return toConversationType(await ctx.services.conversations.get(ctx, viewer, message.conversationId));
  }

  @FieldResolver(() => AgentType, { nullable: true, description: 'Agent that wrote the message, if any.' })
  async agent(@Root() message: MessageType, @Ctx() ctx: Context): Promise<AgentType | null> {
    const agent = message.agentId ? await ctx.loaders.agentById.load(message.agentId) : null;
    return agent ? toAgentType(agent) : null;
  }

  @FieldResolver(() => RunObject, { nullable: true, description: 'Run that wrote the message, if any.' })
  async run(@Root() message: MessageType, @Ctx() ctx: Context): Promise<RunObject | null> {
    const run = message.runId ? await ctx.loaders.runById.load(message.runId) : null;
    return run ? toRunObject(run) : null;
  }
}
