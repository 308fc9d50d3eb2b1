import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import { RunObject, RunStepObject } from './run.types';
import { toRunObject, toRunStepObject } from './run.mappers';
import { ConversationType } from '../conversations/conversation.types';
import { toConversationType } from '../conversations/conversation.mappers';
import { AgentType } from '../agents/agent.types';
import { toAgentType } from '../agents/agent.mappers';
import { MessageType } from '../messages/message.types';
import { toMessageType } from '../messages/message.mappers';
import { notFound } from '../../server/errors';

@Resolver(() => RunObject)
export class RunResolver {
  @Query(() => RunObject, { description: 'One run by id.' })
  async run(
    @Arg('id', () => ID, { description: 'Run id.' }) id: string,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<RunObject> {
    return toRunObject(await ctx.services.runs.get(ctx, viewer, id));
  }

  @FieldResolver(() => [RunStepObject], { description: 'Steps in order.' })
  async steps(@Root() run: RunObject, @Ctx() ctx: Context): Promise<RunStepObject[]> {
    return (await ctx.loaders.stepsByRun.load(run.id)).map(toRunStepObject);
  }

  @FieldResolver(() => ConversationType, { description: 'The conversation the run belongs to.' })
  async conversation(@Root() run: RunObject, @Ctx() ctx: Context, @CurrentViewer() viewer: Viewer): Promise<ConversationType> {
    return toConversationType(await ctx.services.conversations.get(ctx, viewer, run.conversationId));
  }

  @FieldResolver(() => AgentType, { nullable: true, description: 'The agent the run used, if any.' })
  async agent(@Root() run: RunObject, @Ctx() ctx: Context): Promise<AgentType | null> {
    const agent = run.agentId ? await ctx.loaders.agentById.load(run.agentId) : null;
    return agent ? toAgentType(agent) : null;
  }

  @FieldResolver(() => MessageType, { nullable: true, description: 'The message the run answers.' })
  async inputMessage(@Root() run: RunObject, @Ctx() ctx: Context): Promise<MessageType | null> {
    if (!run.inputMessageId) return null;
    const m = await ctx.loaders.messageById.load(run.inputMessageId);
    if (!m) throw notFound('Message', run.inputMessageId);
    return toMessageType(m);
  }

  @FieldResolver(() => MessageType, { nullable: true, description: 'The last message the run wrote.' })
  async responseMessage(@Root() run: RunObject, @Ctx() ctx: Context): Promise<MessageType | null> {
    const m = run.responseMessageId ? await ctx.loaders.messageById.load(run.responseMessageId) : null;
    return m ? toMessageType(m) : null;
  }
}
