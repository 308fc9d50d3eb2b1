import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer, requireViewer } from '../../server/viewer.decorator';
import { renewForEvent } from '../../server/context-factory';
import type { Connection } from '../../server/relay';
import { AgentType } from '../agents/agent.types';
import { toAgentType } from '../agents/agent.mappers';
import { MessageConnection, MessageType } from '../messages/message.types';
import { toMessageType } from '../messages/message.mappers';
import { UsageType, toUsage } from '../usage/usage.types';
import type { ConversationEventPayload } from '../../events/event-bus';
import {
  ConversationConnection,
  ConversationEventObject,
  ConversationEventType as ConversationEventKind,
  ConversationFilter,
  ConversationType,
} from './conversation.types';
import { CreateConversationInput, DeleteConversationInput, UpdateConversationInput } from './conversation.inputs';
import { CreateConversationPayload, DeleteConversationPayload, UpdateConversationPayload } from './conversation.payloads';
import { toConversationType } from './conversation.mappers';

@Resolver(() => ConversationType)
export class ConversationResolver {
  @Query(() => ConversationType, { description: 'One conversation by id.' })
  async conversation(
    @Arg('id', () => ID, { description: 'Conversation id.' }) id: string,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ConversationType> {
    return toConversationType(await ctx.services.conversations.get(ctx, viewer, id));
  }

  @Query(() => ConversationConnection, { description: "The viewer's conversations, most recently updated first." })
  async conversations(
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
    @Arg('first', () => Int, { nullable: true, description: 'Page size (1–100, default 20).' }) first?: number,
    @Arg('after', () => String, { nullable: true, description: 'Cursor to continue after.' }) after?: string,
    @Arg('filter', () => ConversationFilter, { nullable: true, description: 'Narrows the list.' }) filter?: ConversationFilter,
  ): Promise<Connection<ConversationType>> {
    return ctx.services.conversations.list(ctx, viewer, { first, after, filter });
  }

  @FieldResolver(() => MessageConnection, { description: 'The branch from the root to a leaf (the active leaf by default).' })
  async messages(
    @Root() conversation: ConversationType,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true, description: 'Page size (1–100, default 20).' }) first?: number,
    @Arg('after', () => String, { nullable: true, description: 'Cursor to continue after.' }) after?: string,
    @Arg('leafId', () => ID, { nullable: true, description: 'Leaf of the branch to walk; the active leaf by default.' })
    leafId?: string,
  ): Promise<Connection<MessageType>> {
    return ctx.services.messages.path(ctx, conversation, { first, after, leafId });
  }

  @FieldResolver(() => MessageType, { nullable: true, description: 'The leaf of the active branch.' })
  async activeLeaf(@Root() conversation: ConversationType, @Ctx() ctx: Context): Promise<MessageType | null> {
    return conversation.activeLeafId ? await ctx.loaders.plainMessageById.load(conversation.activeLeafId) : null;
  }

  @FieldResolver(() => AgentType, { nullable: true, description: 'Default agent for runs.' })
  async agent(@Root() conversation: ConversationType, @Ctx() ctx: Context): Promise<AgentType | null> {
    const agent = conversation.agentId ? await ctx.loaders.agentById.load(conversation.agentId) : null;
    return agent ? toAgentType(agent) : null;
  }

  @FieldResolver(() => UsageType, { description: 'Tokens and cost over every message of every branch.' })
  async usage(@Root() conversation: ConversationType, @Ctx() ctx: Context): Promise<UsageType> {
    return toUsage(await ctx.loaders.usageByConversation.load(conversation.id));
  }

  @Mutation(() => CreateConversationPayload, { description: 'Creates an empty conversation.' })
  async createConversation(
    @Arg('input', () => CreateConversationInput, { description: 'The conversation.' }) input: CreateConversationInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<CreateConversationPayload> {
    return { conversation: toConversationType(await ctx.services.conversations.create(ctx, viewer, input)) };
  }

  @Mutation(() => UpdateConversationPayload, { description: 'Changes title, tags, settings, agent or archive state.' })
  async updateConversation(
    @Arg('input', () => UpdateConversationInput, { description: 'The changes.' }) input: UpdateConversationInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<UpdateConversationPayload> {
    return { conversation: toConversationType(await ctx.services.conversations.update(ctx, viewer, input)) };
  }

  @Mutation(() => DeleteConversationPayload, { description: 'Deletes a conversation with all its messages and runs.' })
  async deleteConversation(
    @Arg('input', () => DeleteConversationInput, { description: 'The conversation.' }) input: DeleteConversationInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<DeleteConversationPayload> {
    return { deletedConversationId: await ctx.services.conversations.delete(ctx, viewer, input) };
  }

  @Subscription(() => ConversationEventObject, {
    description: 'Messages added to and changes of one conversation, for its owner.',
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const viewer = requireViewer(ctx);
      // Authorize before returning the iterator: a stranger gets NOT_FOUND, not an empty stream.
      const conversation = await ctx.services.conversations.get(ctx, viewer, args.conversationId as string, 'conversationId');
      return ctx.services.bus.conversation(conversation.id);
    },
  })
  async conversationEvents(
    @Root() event: ConversationEventPayload,
    @Ctx() ctx: Context,
    @Arg('conversationId', () => ID, { description: 'The conversation to watch.' }) _conversationId: string,
  ): Promise<ConversationEventObject> {
    const { conversation, message } = await ctx.services.conversations.eventSubjects(renewForEvent(ctx), event);
    return {
      type: event.type as ConversationEventKind,
      conversationId: event.conversationId,
      conversation: conversation ? toConversationType(conversation) : null,
      message: message ? toMessageType(message) : null,
      at: new Date(event.at),
    };
  }
}
