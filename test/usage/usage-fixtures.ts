import { randomUUID } from 'node:crypto';
import type { TestParley } from '../support/parley';

/**
 * Deterministic usage data for report tests: the structure (conversations,
 * messages) goes through the API, and the numbers (usage columns, timestamps,
 * runs, steps) are written straight into the test database.
 */

export interface UsageNumbers {
  prompt: number;
  completion: number;
  reasoning?: number;
  cached?: number;
  cost: number;
}

export const USAGE_FIELDS = 'promptTokens completionTokens reasoningTokens cachedTokens totalTokens costUsd';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  totalTokens: number;
  costUsd: number;
}

export const usageOf = (u: UsageNumbers): Usage => ({
  promptTokens: u.prompt,
  completionTokens: u.completion,
  reasoningTokens: u.reasoning ?? 0,
  cachedTokens: u.cached ?? 0,
  totalTokens: u.prompt + u.completion,
  costUsd: u.cost,
});

export const ZERO: Usage = usageOf({ prompt: 0, completion: 0, cost: 0 });

/** Field-by-field sum; costs are compared with toBeCloseTo by callers. */
export const sumUsage = (list: Usage[]): Usage =>
  list.reduce(
    (a, u) => ({
      promptTokens: a.promptTokens + u.promptTokens,
      completionTokens: a.completionTokens + u.completionTokens,
      reasoningTokens: a.reasoningTokens + u.reasoningTokens,
      cachedTokens: a.cachedTokens + u.cachedTokens,
      totalTokens: a.totalTokens + u.totalTokens,
      costUsd: a.costUsd + u.costUsd,
    }),
    ZERO,
  );

/** Integer fields exactly, cost to 9 decimals. */
export function expectUsage(actual: Usage, expected: Usage): void {
  const { costUsd, ...tokens } = actual;
  const { costUsd: expectedCost, ...expectedTokens } = expected;
  expect(tokens).toEqual(expectedTokens);
  expect(costUsd).toBeCloseTo(expectedCost, 9);
}

export function sql<T = Record<string, unknown>>(p: TestParley, query: string, params: unknown[] = []): Promise<T[]> {
  return p.app.runtime.orm.em.fork().getConnection().execute<T[]>(query, params);
}

export async function createConversation(p: TestParley, key: string, input: Record<string, unknown>): Promise<string> {
  const res = await p.gql<{ createConversation: { conversation: { id: string } } }>(
    'mutation($input: CreateConversationInput!) { createConversation(input: $input) { conversation { id } } }',
    { input },
    key,
  );
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createConversation.conversation.id;
}

export async function createAgent(p: TestParley, key: string, name: string): Promise<string> {
  const res = await p.gql<{ createAgent: { agent: { id: string } } }>(
    'mutation($input: CreateAgentInput!) { createAgent(input: $input) { agent { id } } }',
    { input: { name, model: 'demo/demo' } },
    key,
  );
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createAgent.agent.id;
}

export async function append(p: TestParley, key: string, input: Record<string, unknown>): Promise<string> {
  const res = await p.gql<{ appendMessage: { message: { id: string } } }>(
    'mutation($input: AppendMessageInput!) { appendMessage(input: $input) { message { id } } }',
    { input: { role: 'USER', ...input } },
    key,
  );
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.appendMessage.message.id;
}

/** Sets a message's usage (and optionally model, agent and creation time) directly. */
export async function setMessage(
  p: TestParley,
  id: string,
  u: UsageNumbers,
  extra: { model?: string; agentId?: string; createdAt?: string } = {},
): Promise<void> {
  await sql(
    p,
    `update messages set prompt_tokens = ?, completion_tokens = ?, reasoning_tokens = ?, cached_tokens = ?, cost_usd = ?,
            model = coalesce(?, model), agent_id = coalesce(?::uuid, agent_id), created_at = coalesce(?::timestamptz, created_at)
      where id = ?`,
    [u.prompt, u.completion, u.reasoning ?? 0, u.cached ?? 0, u.cost, extra.model ?? null, extra.agentId ?? null, extra.createdAt ?? null, id],
  );
}

export interface RunRow {
  conversationId: string;
  ownerId: string;
  agentId?: string;
  model: string;
  status?: string;
  createdAt: string;
  usage?: UsageNumbers;
  ttftMs?: number | null;
  durationMs?: number | null;
}

/** Inserts a finished run with known numbers; returns its id. */
export async function insertRun(p: TestParley, r: RunRow): Promise<string> {
  const id = randomUUID();
  const u = r.usage ?? { prompt: 0, completion: 0, cost: 0 };
  const started = new Date(Date.parse(r.createdAt) + 5);
  const completed = r.durationMs == null ? null : new Date(started.getTime() + r.durationMs);
  await sql(
    p,
    `insert into runs (id, created_at, updated_at, conversation_id, owner_id, agent_id, model, status, branch_key,
                       prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cost_usd,
                       time_to_first_token_ms, started_at, completed_at)
     values (?, ?, ?, ?, ?, ?, ?, ?::run_status, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      id, r.createdAt, r.createdAt, r.conversationId, r.ownerId, r.agentId ?? null, r.model, r.status ?? 'COMPLETED', `test-${id}`,
      u.prompt, u.completion, u.reasoning ?? 0, u.cached ?? 0, u.cost,
      r.ttftMs ?? null, started, completed,
    ],
  );
  return id;
}

/** Inserts a TOOL_CALL step of a run. */
export async function insertToolStep(
  p: TestParley,
  runId: string,
  index: number,
  toolName: string,
  status: 'COMPLETED' | 'FAILED',
  startedAt: string,
  durationMs: number,
): Promise<void> {
  const start = new Date(startedAt);
  await sql(
    p,
    `insert into run_steps (id, created_at, updated_at, run_id, index, type, status, tool_name, started_at, completed_at)
     values (?, ?, ?, ?, ?, 'TOOL_CALL', ?::run_step_status, ?, ?, ?)`,
    [randomUUID(), start, start, runId, index, status, toolName, start, new Date(start.getTime() + durationMs)],
  );
}

/** percentile_cont: linear interpolation between the closest ranks. */
export function percentileCont(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
