import type { EntityManager } from '@mikro-orm/postgresql';
import type { MessageRole, MessageStatus, ToolCallPart } from '../messages/message.entity';

/**
 * Exports read plain rows, never entities: a document needs no identity map,
 * and hydrating thousands of linked messages costs far more than the query.
 */
async function execute<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  return (await em.getConnection().execute<Record<string, unknown>[]>(sql, params, 'all', em.getTransactionContext())) as T[];
}

/** The columns a stored message has in documents and inserts (camelCase, like the GraphQL Message type). */
interface MessageColumns {
  id: string;
  parentId: string | null;
  role: MessageRole;
  content: string;
  reasoning: string | null;
  toolCallId: string | null;
  model: string | null;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  costUsd: number;
  latencyMs: number | null;
  status: MessageStatus;
  createdAt: Date;
  pinned: boolean;
  excluded: boolean;
}

/** A stored message as documents carry it. */
export interface ExportRow extends MessageColumns {
  toolCalls: ToolCallPart[] | null;
}

const EXPORT_COLUMNS = `id, parent_id as "parentId", role, content, reasoning, tool_calls as "toolCalls", tool_call_id as "toolCallId", model,
  prompt_tokens as "promptTokens", completion_tokens as "completionTokens", reasoning_tokens as "reasoningTokens",
  cached_tokens as "cachedTokens", cost_usd::float8 as "costUsd", latency_ms as "latencyMs", status, created_at as "createdAt",
  pinned, excluded`;

/** Every message of a conversation, parents first (by depth, then id), in one statement. */
export function selectConversationRows(em: EntityManager, conversationId: string): Promise<ExportRow[]> {
  return execute<ExportRow>(em, `select ${EXPORT_COLUMNS} from messages where conversation_id = ? order by depth, id`, [conversationId]);
}

/**
 * The branch root → leaf in one recursive statement (the walk of loadPaths,
 * without the entities); empty when the leaf is not in the conversation.
 */
export function selectBranchRows(em: EntityManager, conversationId: string, leafId: string): Promise<ExportRow[]> {
  return execute<ExportRow>(
    em,
    `with recursive path as (
       select m.* from messages m where m.id = ? and m.conversation_id = ?
       union all
       select p.* from messages p join path on p.id = path.parent_id
     )
     select ${EXPORT_COLUMNS} from path order by depth`,
    [leafId, conversationId],
  );
}

/** One message row to insert, ids and depth already planned. */
export interface MessageRow extends MessageColumns {
  depth: number;
  toolCalls: ToolCallPart[];
}

/** Rows per INSERT: large enough that 5 000 messages take a handful of statements. */
export const INSERT_CHUNK = 1000;

/**
 * Multi-row INSERT … SELECT from one jsonb parameter per chunk: each chunk is
 * a single statement whatever its size, with no per-row placeholders and no
 * array-literal quoting of message text. Rows must come parents first: a
 * parent is then in an earlier chunk or in the same statement, whose foreign
 * keys are checked at its end. Runs inside the caller's transaction.
 */
export async function insertMessages(em: EntityManager, conversationId: string, rows: readonly MessageRow[], chunk = INSERT_CHUNK): Promise<number> {
  let inserted = 0;
  for (let start = 0; start < rows.length; start += chunk) {
    const slice = rows.slice(start, start + chunk).map((r) => ({
      id: r.id,
      parent_id: r.parentId,
      depth: r.depth,
      role: r.role,
      content: r.content,
      reasoning: r.reasoning,
      tool_calls: r.toolCalls.length ? r.toolCalls : null,
      tool_call_id: r.toolCallId,
      model: r.model,
      prompt_tokens: r.promptTokens,
      completion_tokens: r.completionTokens,
      reasoning_tokens: r.reasoningTokens,
      cached_tokens: r.cachedTokens,
      cost_usd: r.costUsd,
      latency_ms: r.latencyMs,
      status: r.status,
      created_at: r.createdAt.toISOString(),
      pinned: r.pinned,
      excluded: r.excluded,
    }));
    const result = await execute<{ n: number }>(
      em,
      `with inserted as (
         insert into messages (
           id, created_at, updated_at, conversation_id, parent_id, depth, role, content, reasoning, tool_calls, tool_call_id,
           model, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cost_usd, latency_ms, status, pinned, excluded)
         select r.id, r.created_at, now(), ?, r.parent_id, r.depth, r.role::message_role, r.content, r.reasoning, r.tool_calls,
                r.tool_call_id, r.model, r.prompt_tokens, r.completion_tokens, r.reasoning_tokens, r.cached_tokens, r.cost_usd,
                r.latency_ms, r.status::message_status, r.pinned, r.excluded
           from jsonb_to_recordset(?::jsonb) as r(
             id uuid, created_at timestamptz, parent_id uuid, depth int, role text, content text, reasoning text, tool_calls jsonb,
             tool_call_id text, model text, prompt_tokens int, completion_tokens int, reasoning_tokens int, cached_tokens int,
             cost_usd float8, latency_ms int, status text, pinned boolean, excluded boolean)
         returning 1
       )
       select count(*)::int as n from inserted`,
      [conversationId, JSON.stringify(slice)],
    );
    inserted += result[0]?.n ?? 0;
  }
  return inserted;
}
