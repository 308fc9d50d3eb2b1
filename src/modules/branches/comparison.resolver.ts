import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import { RateLimit } from '../../server/rate-limit';
import { MessageType } from '../messages/message.types';
import { toMessageType } from '../messages/message.mappers';
import { ComparisonType } from './comparison.types';
import { toComparisonType } from './comparison.mappers';
import { CompareModelsInput } from './branch.inputs';
import { CompareModelsPayload } from './branch.payloads';

@Resolver(() => ComparisonType)
export class ComparisonResolver {
  @Query(() => ComparisonType, { description: 'A comparison started by compareModels, its answers side by side.' })
  async comparison(
    @Arg('id', () => ID, { description: 'Comparison id.' }) id: string,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ComparisonType> {
    return toComparisonType(await ctx.services.comparisons.get(ctx, viewer, id));
  }

  @UseMiddleware(RateLimit('runs'))
  @Mutation(() => CompareModelsPayload, {
    description: 'Starts one run per model answering the same user message, concurrently; each answer is a sibling on its own branch.',
  })
  async compareModels(
    @Arg('input', () => CompareModelsInput, { description: 'The message and the models.' }) input: CompareModelsInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<CompareModelsPayload> {
    return { comparison: toComparisonType(await ctx.services.comparisons.compare(ctx, viewer, input)) };
  }

  @FieldResolver(() => MessageType, { nullable: true, description: 'The user message every model answers.' })
  async parent(@Root() comparison: ComparisonType, @Ctx() ctx: Context): Promise<MessageType | null> {
    const m = comparison.parentId ? await ctx.loaders.messageById.load(comparison.parentId) : null;
    return m ? toMessageType(m) : null;
  }
}
