import type { Context, Viewer } from '../../server/context';
import { badInput, notFound } from '../../server/errors';
import { ownedBy } from '../../server/ownership';
import { decodeCursor, encodeCursor, pageSize, toConnection, type Connection } from '../../server/relay';
import { LIMITS, optionalText, requireId, requireListSize, requireTemperature, requireText } from '../../server/validate';
import { Agent } from './agent.entity';
import { RUN_TIMEOUT_MS, isRunTimeout } from '../runs/run-options';
import type { CreateAgentInput, DeleteAgentInput, UpdateAgentInput } from './agent.inputs';

/** What agents may reference; the run engine supplies the real catalog. */
export interface AgentCatalog {
  checkModel(modelId: string, field: string): void;
  checkTools(names: string[], field: string): void;
}

export class AgentService {
  constructor(private readonly catalog: AgentCatalog) {}

  async get(ctx: Context, viewer: Viewer, id: string, field = 'id'): Promise<Agent> {
    const agentId = requireId(id, field);
    const agent = await ctx.em.findOne(Agent, { id: agentId, ...ownedBy(viewer) });
    if (!agent) throw notFound('Agent', agentId);
    return agent;
  }

  async list(ctx: Context, viewer: Viewer, first?: number | null, after?: string | null): Promise<Connection<Agent>> {
    const limit = pageSize(first);
    const afterId = decodeCursor('agent', after, 'uuid');
    const rows = await ctx.em.find(
      Agent,
      { owner: viewer.id, ...(afterId ? { id: { $lt: afterId } } : {}) },
      { orderBy: { id: 'desc' }, limit: limit + 1 },
    );
    return toConnection(rows, limit, (a) => encodeCursor('agent', a.id), Boolean(afterId));
  }

  async create(ctx: Context, viewer: Viewer, input: CreateAgentInput): Promise<Agent> {
    const fields = this.validate(input);
    const agent = ctx.em.create(Agent, {
      owner: viewer.id,
      name: requireText(input.name, 'name', LIMITS.name),
      model: requireText(input.model, 'model', LIMITS.model),
      ...fields,
    });
    await ctx.em.flush();
    return agent;
  }

  async update(ctx: Context, viewer: Viewer, input: UpdateAgentInput): Promise<Agent> {
    const agent = await this.get(ctx, viewer, input.agentId, 'agentId');
    const fields = this.validate(input);
    if (input.name != null) agent.name = requireText(input.name, 'name', LIMITS.name);
    if (input.model != null) agent.model = input.model;
    Object.assign(agent, fields);
    agent.version += 1;
    await ctx.em.flush();
    return agent;
  }

  async delete(ctx: Context, viewer: Viewer, input: DeleteAgentInput): Promise<string> {
    const id = requireId(input.agentId, 'agentId');
    const deleted = await ctx.em.nativeDelete(Agent, { id, ...ownedBy(viewer) });
    if (!deleted) throw notFound('Agent', id);
    return id;
  }

  private validate(input: Partial<CreateAgentInput>): Partial<Agent> {
    const out: Partial<Agent> = {};
    if (input.model != null) this.catalog.checkModel(requireText(input.model, 'model', LIMITS.model), 'model');
    if (input.description != null) out.description = optionalText(input.description, 'description', LIMITS.description);
    if (input.instructions != null) out.instructions = optionalText(input.instructions, 'instructions', LIMITS.instructions);
    if (input.temperature != null) out.temperature = requireTemperature(input.temperature);
    if (input.runTimeoutMs != null) {
      if (!isRunTimeout(input.runTimeoutMs)) throw badInput('runTimeoutMs', `must be between ${RUN_TIMEOUT_MS.min} and ${RUN_TIMEOUT_MS.max}`);
      out.runTimeoutMs = input.runTimeoutMs;
    }
    if (input.tools != null) {
      requireListSize(input.tools, 'tools', LIMITS.tools);
      const tools = [...new Set(input.tools)];
      this.catalog.checkTools(tools, 'tools');
      out.tools = tools;
    }
    return out;
  }
}
