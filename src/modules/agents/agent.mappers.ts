import type { Agent } from './agent.entity';
import type { AgentType } from './agent.types';

export const toAgentType = (a: Agent): AgentType => ({
  id: a.id,
  name: a.name,
  description: a.description ?? null,
  instructions: a.instructions ?? null,
  model: a.model,
  temperature: a.temperature ?? null,
  tools: a.tools,
  runTimeoutMs: a.runTimeoutMs ?? null,
  version: a.version,
  createdAt: a.createdAt,
  updatedAt: a.updatedAt,
});
