import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import type { Connection } from '../../server/relay';
import { AgentConnection, AgentType } from './agent.types';
import { CreateAgentInput, DeleteAgentInput, UpdateAgentInput } from './agent.inputs';
import { CreateAgentPayload, DeleteAgentPayload, UpdateAgentPayload } from './agent.payloads';
import { toAgentType } from './agent.mappers';

@Resolver(() => AgentType)
export class AgentResolver {
  @Query(() => AgentConnection, { description: "The viewer's agents, newest first." })
  async agents(
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
    @Arg('first', () => Int, { nullable: true, description: 'Page size (1–100, default 20).' }) first?: number,
    @Arg('after', () => String, { nullable: true, description: 'Cursor to continue after.' }) after?: string,
  ): Promise<Connection<AgentType>> {
    const page = await ctx.services.agents.list(ctx, viewer, first, after);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toAgentType(e.node) })) };
  }

  @Query(() => AgentType, { description: 'One agent by id.' })
  async agent(
    @Arg('id', () => ID, { description: 'Agent id.' }) id: string,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<AgentType> {
    return toAgentType(await ctx.services.agents.get(ctx, viewer, id));
  }

  @Mutation(() => CreateAgentPayload, { description: 'Creates an agent.' })
  async createAgent(
    @Arg('input', () => CreateAgentInput, { description: 'The agent.' }) input: CreateAgentInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<CreateAgentPayload> {
    return { agent: toAgentType(await ctx.services.agents.create(ctx, viewer, input)) };
  }

  @Mutation(() => UpdateAgentPayload, { description: 'Changes an agent and bumps its version.' })
  async updateAgent(
    @Arg('input', () => UpdateAgentInput, { description: 'The changes.' }) input: UpdateAgentInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<UpdateAgentPayload> {
    return { agent: toAgentType(await ctx.services.agents.update(ctx, viewer, input)) };
  }

  @Mutation(() => DeleteAgentPayload, { description: 'Deletes an agent; conversations and messages keep their history.' })
  async deleteAgent(
    @Arg('input', () => DeleteAgentInput, { description: 'The agent.' }) input: DeleteAgentInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<DeleteAgentPayload> {
    return { deletedAgentId: await ctx.services.agents.delete(ctx, viewer, input) };
  }
}
