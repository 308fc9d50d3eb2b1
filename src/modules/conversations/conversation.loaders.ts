import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { pgUuidArray } from '../../db/sql';
import { Agent } from '../agents/agent.entity';
import { ZERO_USAGE, type UsageColumns } from '../usage/usage.types';

export function createConversationLoaders(em: EntityManager) {
  const agentById = new DataLoader<string, Agent | null>(async (ids) => {
    const rows = await em.find(Agent, { id: { $in: [...ids] } });
    const map = new Map(rows.map((a) => [a.id, a]));
    return ids.map((id) => map.get(id) ?? null);
  });

  /** Usage of whole conversations, summed by the database in one statement. */
  const usageByConversation = new DataLoader<string, UsageColumns>(async (ids) => {
    const rows = await em.getConnection().execute<(UsageColumns & { conversation_id: string })[]>(
      `select conversation_id,
              coalesce(sum(prompt_tokens), 0)::int as "promptTokens",
              coalesce(sum(completion_tokens), 0)::int as "completionTokens",
              coalesce(sum(reasoning_tokens), 0)::int as "reasoningTokens",
              coalesce(sum(cached_tokens), 0)::int as "cachedTokens",
              coalesce(sum(cost_usd), 0)::float8 as "costUsd"
         from messages where conversation_id = any(?::uuid[]) group by conversation_id`,
      [pgUuidArray(ids)],
    );
    const map = new Map(rows.map((r) => [r.conversation_id, r]));
    return ids.map((id) => map.get(id) ?? ZERO_USAGE);
  });

  return { agentById, usageByConversation };
}
