import type { EntityManager } from '@mikro-orm/postgresql';
import { pgUuidArray } from '../../db/sql';
import type { UsageColumns } from './usage.types';

/** The five usage sums over rows aliased `t`, named like UsageColumns; empty groups sum to 0. */
export const usageSums = (t: string): string =>
  `coalesce(sum(${t}.prompt_tokens), 0)::int as "promptTokens",
   coalesce(sum(${t}.completion_tokens), 0)::int as "completionTokens",
   coalesce(sum(${t}.reasoning_tokens), 0)::int as "reasoningTokens",
   coalesce(sum(${t}.cached_tokens), 0)::int as "cachedTokens",
   coalesce(sum(${t}.cost_usd), 0)::float8 as "costUsd"`;

/** Usage of one branch (root → leaf), with the conversation the leaf belongs to. */
export interface BranchUsage extends UsageColumns {
  conversationId: string;
  /** Messages on the path, leaf included (= leaf depth + 1). */
  messageCount: number;
}

const pick = (r: UsageColumns): UsageColumns => ({
  promptTokens: r.promptTokens,
  completionTokens: r.completionTokens,
  reasoningTokens: r.reasoningTokens,
  cachedTokens: r.cachedTokens,
  costUsd: r.costUsd,
});

const run = <T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> =>
  em.getConnection().execute<T[]>(sql, params, 'all', em.getTransactionContext());

/**
 * Usage of many branches in one recursive statement: each leaf walks up through
 * parent_id carrying only its own id and the usage columns, and the database
 * sums per leaf. A leaf that does not exist is absent from the map; callers
 * check `conversationId` against the conversation they were asked about.
 * Works inside a transaction (the em's transaction context is passed on).
 */
export async function branchUsage(em: EntityManager, leafIds: readonly string[]): Promise<Map<string, BranchUsage>> {
  if (leafIds.length === 0) return new Map();
  const rows = await run<BranchUsage & { leaf_id: string }>(
    em,
    `with recursive path as (
       select m.id as leaf_id, m.conversation_id, m.parent_id,
              m.prompt_tokens, m.completion_tokens, m.reasoning_tokens, m.cached_tokens, m.cost_usd
         from messages m where m.id = any(?::uuid[])
       union all
       select path.leaf_id, path.conversation_id, p.parent_id,
              p.prompt_tokens, p.completion_tokens, p.reasoning_tokens, p.cached_tokens, p.cost_usd
         from messages p join path on p.id = path.parent_id
     )
     select leaf_id, conversation_id as "conversationId", count(*)::int as "messageCount", ${usageSums('path')}
       from path group by leaf_id, conversation_id`,
    [pgUuidArray(leafIds)],
  );
  return new Map(rows.map((r) => [r.leaf_id, { ...pick(r), conversationId: r.conversationId, messageCount: r.messageCount }]));
}

/**
 * Usage of agents, summed over their runs (runs.agent_id). Runs are the unit
 * that is billed: every model step adds its usage to its run, while a step
 * that wrote no message (a call failing before any output) has no message to
 * carry it. So an agent's usage equals the sum of its runs by construction.
 */
export async function agentUsage(em: EntityManager, agentIds: readonly string[]): Promise<Map<string, UsageColumns>> {
  const rows = await run<UsageColumns & { agent_id: string }>(
    em,
    `select r.agent_id, ${usageSums('r')} from runs r where r.agent_id = any(?::uuid[]) group by r.agent_id`,
    [pgUuidArray(agentIds)],
  );
  return new Map(rows.map((r) => [r.agent_id, pick(r)]));
}

/**
 * Usage of users, summed over the messages of the conversations they own: the
 * same ledger as Conversation.usage, so a user's usage is the sum of their
 * conversations' usage (and of usageReport totals over all time).
 */
export async function ownerUsage(em: EntityManager, userIds: readonly string[]): Promise<Map<string, UsageColumns>> {
  const rows = await run<UsageColumns & { owner_id: string }>(
    em,
    `select c.owner_id, ${usageSums('m')}
       from conversations c join messages m on m.conversation_id = c.id
      where c.owner_id = any(?::uuid[]) group by c.owner_id`,
    [pgUuidArray(userIds)],
  );
  return new Map(rows.map((r) => [r.owner_id, pick(r)]));
}
