import { Arg, Ctx, FieldResolver, ID, Resolver, Root } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import { AgentType } from '../agents/agent.types';
import { ConversationType } from '../conversations/conversation.types';
import { UserType } from '../users/user.types';
import { UsageType, toUsage } from './usage.types';

/*
 * Extension resolvers: each adds a usage field to another module's type
 * without touching that module. All batch through the usage loaders.
 */

@Resolver(() => ConversationType)
export class ConversationUsageResolver {
  @FieldResolver(() => UsageType, {
    description: 'Tokens and cost of the messages on one branch, root to leaf (the active leaf by default).',
  })
  async branchUsage(
    @Root() conversation: ConversationType,
    @Ctx() ctx: Context,
    @Arg('leafId', () => ID, { nullable: true, description: 'Leaf of the branch; the active leaf by default.' }) leafId?: string,
  ): Promise<UsageType> {
    return toUsage(await ctx.services.usage.branchUsage(ctx, conversation, leafId));
  }
}

@Resolver(() => AgentType)
export class AgentUsageResolver {
  @FieldResolver(() => UsageType, { description: 'Tokens and cost of every run that used this agent (the sum of its runs).' })
  async usage(@Root() agent: AgentType, @Ctx() ctx: Context): Promise<UsageType> {
    return toUsage(await ctx.loaders.usageByAgent.load(agent.id));
  }
}

@Resolver(() => UserType)
export class UserUsageResolver {
  @FieldResolver(() => UsageType, {
    description: "Tokens and cost over all of the user's conversations (visible to the user and admins).",
  })
  async usage(@Root() user: UserType, @Ctx() ctx: Context, @CurrentViewer() viewer: Viewer): Promise<UsageType> {
    return toUsage(await ctx.services.usage.userUsage(ctx, viewer, user.id));
  }
}
