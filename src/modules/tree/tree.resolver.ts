import { Arg, Ctx, FieldResolver, Int, Mutation, Resolver, Root } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import type { Connection } from '../../server/relay';
import { ConversationType } from '../conversations/conversation.types';
import { toConversationType } from '../conversations/conversation.mappers';
import { toMessageType } from '../messages/message.mappers';
import { toUsage } from '../usage/usage.types';
import { BranchConnection, TreeNodeConnection, type BranchType, type TreeNodeType } from './tree.types';
import { SetActiveLeafInput } from './tree.inputs';
import { SetActiveLeafPayload } from './tree.payloads';

/** Tree navigation on Conversation, added from this module without touching the conversations module. */
@Resolver(() => ConversationType)
export class ConversationTreeResolver {
  @FieldResolver(() => BranchConnection, {
    description: 'Every branch (root → leaf path) of the tree, most recently active first, each with the usage of its path.',
  })
  async branches(
    @Root() conversation: ConversationType,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true, description: 'Page size (1–100, default 20).' }) first?: number,
    @Arg('after', () => String, { nullable: true, description: 'Cursor to continue after.' }) after?: string,
  ): Promise<Connection<BranchType>> {
    const page = await ctx.services.tree.branches(ctx, conversation, { first, after });
    return {
      ...page,
      edges: page.edges.map(({ cursor, node }) => ({
        cursor,
        node: { ...node, leaf: toMessageType(node.leaf), usage: toUsage(node.usage) },
      })),
    };
  }

  @FieldResolver(() => TreeNodeConnection, {
    description:
      'The whole tree for a tree view, in depth-first pre-order (each node, then its replies oldest first, each with its own replies), so pages can be drawn as they arrive.',
  })
  async tree(
    @Root() conversation: ConversationType,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true, description: 'Page size (1–100, default 20).' }) first?: number,
    @Arg('after', () => String, { nullable: true, description: 'Cursor to continue after.' }) after?: string,
  ): Promise<Connection<TreeNodeType>> {
    return ctx.services.tree.tree(ctx, conversation, { first, after });
  }
}

@Resolver()
export class TreeResolver {
  @Mutation(() => SetActiveLeafPayload, {
    description: 'Chooses the branch the conversation shows and continues: the path from the root to the given message.',
  })
  async setActiveLeaf(
    @Arg('input', () => SetActiveLeafInput, { description: 'The conversation and the message.' }) input: SetActiveLeafInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<SetActiveLeafPayload> {
    return { conversation: toConversationType(await ctx.services.tree.setActiveLeaf(ctx, viewer, input)) };
  }
}

/** Every resolver of the tree module, for the schema's resolver list. */
export const TREE_RESOLVERS = [ConversationTreeResolver, TreeResolver] as const;
