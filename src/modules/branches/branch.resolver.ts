import { Arg, Ctx, FieldResolver, Int, Mutation, Resolver, Root, UseMiddleware } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import { RateLimit } from '../../server/rate-limit';
import { ConversationType } from '../conversations/conversation.types';
import { toConversationType } from '../conversations/conversation.mappers';
import { MessageType } from '../messages/message.types';
import { toMessageType } from '../messages/message.mappers';
import { toRunObject } from '../runs/run.mappers';
import { ForkOriginType, MessageEditType } from './branch.types';
import { EditMessageInput, ForkConversationInput, RegenerateMessageInput } from './branch.inputs';
import { EditMessagePayload, ForkConversationPayload, RegenerateMessagePayload } from './branch.payloads';
import { ComparisonResolver } from './comparison.resolver';

@Resolver()
export class BranchResolver {
  @UseMiddleware(RateLimit('runs'))
  @Mutation(() => EditMessagePayload, {
    description: 'Edits a message: by default as a new branch with its own run; with inPlace, where it is, keeping the old text.',
  })
  async editMessage(
    @Arg('input', () => EditMessageInput, { description: 'The message and its new content.' }) input: EditMessageInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<EditMessagePayload> {
    const { message, run } = await ctx.services.branches.editMessage(ctx, viewer, input);
    return { message: toMessageType(message), run: run ? toRunObject(run) : null };
  }

  @UseMiddleware(RateLimit('runs'))
  @Mutation(() => RegenerateMessagePayload, {
    description: 'Answers again what an assistant message answered, optionally with another model; the new answer is its sibling.',
  })
  async regenerateMessage(
    @Arg('input', () => RegenerateMessageInput, { description: 'The answer to replace and how.' }) input: RegenerateMessageInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<RegenerateMessagePayload> {
    return { run: toRunObject(await ctx.services.branches.regenerateMessage(ctx, viewer, input)) };
  }

  @Mutation(() => ForkConversationPayload, { description: 'Copies a path, a path with its branches, or a subtree into a new conversation.' })
  async forkConversation(
    @Arg('input', () => ForkConversationInput, { description: 'Where to fork and what to copy.' }) input: ForkConversationInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ForkConversationPayload> {
    return { conversation: toConversationType(await ctx.services.branches.forkConversation(ctx, viewer, input)) };
  }
}

/** Edit history on Message, added from this module without touching the messages module. */
@Resolver(() => MessageType)
export class MessageEditsResolver {
  @FieldResolver(() => Date, { nullable: true, description: 'When the content was last edited in place; null if never.' })
  async editedAt(@Root() message: MessageType, @Ctx() ctx: Context): Promise<Date | null> {
    return (await ctx.services.branches.edits(ctx, message.id)).at(-1)?.at ?? null;
  }

  @FieldResolver(() => Int, { description: 'How many times the content was edited in place.' })
  async editCount(@Root() message: MessageType, @Ctx() ctx: Context): Promise<number> {
    return (await ctx.services.branches.edits(ctx, message.id)).length;
  }

  @FieldResolver(() => [MessageEditType], { description: 'In-place edits, oldest first, each with the content it replaced.' })
  async edits(@Root() message: MessageType, @Ctx() ctx: Context): Promise<MessageEditType[]> {
    return ctx.services.branches.edits(ctx, message.id);
  }
}

/** Fork origin on Conversation, added from this module. */
@Resolver(() => ConversationType)
export class ForkOriginResolver {
  @FieldResolver(() => ForkOriginType, { nullable: true, description: 'Where this conversation was forked from; null if it was not.' })
  async forkedFrom(@Root() conversation: ConversationType, @Ctx() ctx: Context): Promise<ForkOriginType | null> {
    return ctx.services.branches.forkedFrom(ctx, conversation.id);
  }
}

/** Every resolver of the branches module, for the schema's resolver list. */
export const BRANCH_RESOLVERS = [BranchResolver, MessageEditsResolver, ForkOriginResolver, ComparisonResolver] as const;
