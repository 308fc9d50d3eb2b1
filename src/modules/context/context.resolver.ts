import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import { toMessageType } from '../messages/message.mappers';
import { RunObject } from '../runs/run.types';
import type { ModelContextPlan } from './context-builder';
import { ContextPlanType } from './context.types';
import { ExcludeMessageInput, MergeBranchesInput, PinMessageInput } from './context.inputs';
import { ExcludeMessagePayload, MergeBranchesPayload, PinMessagePayload } from './context.payloads';
import { toContextPlanType } from './context.mappers';

@Resolver()
export class ContextResolver {
  @Query(() => ContextPlanType, {
    description:
      "What a run on a branch would send the model now, under the conversation's context strategy. " +
      'Under SUMMARIZE and HYBRID it writes the needed summary (once; later previews and runs reuse it).',
  })
  async previewContext(
    @Arg('conversationId', () => ID, { description: 'The conversation.' }) conversationId: string,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
    @Arg('leafId', () => ID, { nullable: true, description: 'Leaf of the branch; the active leaf by default.' }) leafId?: string,
    @Arg('model', () => String, { nullable: true, description: "Model id as `provider/model`; the agent's or conversation's by default." })
    model?: string,
  ): Promise<ContextPlanType> {
    return toContextPlanType(await ctx.services.context.preview(ctx, viewer, { conversationId, leafId, model }));
  }

  @Mutation(() => PinMessagePayload, { description: 'Pins or unpins a message: PINNED_FIRST and HYBRID always send pinned messages.' })
  async pinMessage(
    @Arg('input', () => PinMessageInput, { description: 'The message and its new state.' }) input: PinMessageInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<PinMessagePayload> {
    return { message: toMessageType(await ctx.services.context.setPinned(ctx, viewer, input)) };
  }

  @Mutation(() => ExcludeMessagePayload, { description: 'Excludes a message from (or includes it again in) everything sent to models.' })
  async excludeMessage(
    @Arg('input', () => ExcludeMessageInput, { description: 'The message and its new state.' }) input: ExcludeMessageInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ExcludeMessagePayload> {
    return { message: toMessageType(await ctx.services.context.setExcluded(ctx, viewer, input)) };
  }

  @Mutation(() => MergeBranchesPayload, {
    description:
      "Appends to the target branch one USER message carrying the source branch's turns after the fork point, as a transcript, " +
      "or as a summary by the summary model when the transcript would take more than half of the model's context budget.",
  })
  async mergeBranches(
    @Arg('input', () => MergeBranchesInput, { description: 'The two leaves.' }) input: MergeBranchesInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<MergeBranchesPayload> {
    return { message: toMessageType(await ctx.services.context.mergeBranches(ctx, viewer, input)) };
  }
}

/** Adds `Run.contextPlan` without touching the runs module. */
@Resolver(() => RunObject)
export class RunContextPlanResolver {
  @FieldResolver(() => ContextPlanType, { nullable: true, description: 'What the last model call of the run was sent: every item with its tokens, and what was dropped or summarized.' })
  async contextPlan(@Root() run: RunObject, @Ctx() ctx: Context): Promise<ContextPlanType | null> {
    const stored = (await ctx.loaders.runById.load(run.id))?.contextPlan;
    return stored ? toContextPlanType(stored as unknown as ModelContextPlan) : null;
  }
}
