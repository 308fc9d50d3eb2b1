import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { GraphQLJSON } from 'graphql-scalars';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import { toConversationType } from '../conversations/conversation.mappers';
import { ConversationFormat } from './transfer.types';
import { ImportConversationInput } from './transfer.inputs';
import { ImportConversationPayload } from './transfer.payloads';

@Resolver()
export class TransferResolver {
  @Query(() => GraphQLJSON, {
    description:
      'A conversation as a document: PARLEY (the whole tree, for backup or moving between servers) or OPENAI_MESSAGES (one branch, ready to send to a chat completion API).',
  })
  async exportConversation(
    @Arg('id', () => ID, { description: 'Conversation id.' }) id: string,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
    @Arg('format', () => ConversationFormat, { defaultValue: ConversationFormat.PARLEY, description: 'Document format (PARLEY by default).' })
    format: ConversationFormat,
    @Arg('leafId', () => ID, { nullable: true, description: 'OPENAI_MESSAGES only: leaf of the branch to export; the active leaf by default.' })
    leafId?: string,
  ): Promise<unknown> {
    return ctx.services.transfer.export(ctx, viewer, { id, format, leafId });
  }

  @Mutation(() => ImportConversationPayload, {
    description: 'Creates a conversation from a document (PARLEY or OPENAI_MESSAGES), all or nothing, in one transaction.',
  })
  async importConversation(
    @Arg('input', () => ImportConversationInput, { description: 'The document and its format.' }) input: ImportConversationInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ImportConversationPayload> {
    const { conversation, messageCount } = await ctx.services.transfer.import(ctx, viewer, input);
    return { conversation: toConversationType(conversation), messageCount };
  }
}

/** Every resolver of the transfer module, for the schema's resolver list. */
export const TRANSFER_RESOLVERS = [TransferResolver] as const;
