import type { EntityManager } from '@mikro-orm/postgresql';
import { pgUuidArray } from '../../db/sql';
import { ACTIVE_STATUSES } from '../runs/run-state';
import { ForkMode, type ForkCopy, type ForkNode } from './fork';

/** Raw SQL inside the caller's transaction (or on its own when there is none). */
async function execute<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  return (await em.getConnection().execute<Record<string, unknown>[]>(sql, params, 'all', em.getTransactionContext())) as T[];
}

/** `{a,NULL,b}`: a uuid[] literal that may hold nulls (ids are validated uuids, never quoted). */
const pgNullableUuidArray = (ids: readonly (string | null)[]): string => `{${ids.map((id) => id ?? 'NULL').join(',')}}`;

const SELECT_BY_MODE: Record<ForkMode, string> = {
  [ForkMode.PATH]: 'select * from up',
  [ForkMode.SUBTREE]: 'select * from down',
  [ForkMode.BRANCHES]: 'select * from up union select * from down',
};

/**
 * The nodes a fork copies, in one recursive statement: `up` walks parent links
 * to the root, `down` walks child links (through the parent_id index) to every
 * leaf below the message. Postgres evaluates only the CTEs the mode selects.
 */
export async function selectForkNodes(em: EntityManager, conversationId: string, messageId: string, mode: ForkMode): Promise<ForkNode[]> {
  const rows = await execute<{ id: string; parent_id: string | null; depth: number }>(
    em,
    `with recursive
       up as (
         select id, parent_id, depth from messages where id = ? and conversation_id = ?
         union all
         select p.id, p.parent_id, p.depth from messages p join up on p.id = up.parent_id
       ),
       down as (
         select id, parent_id, depth from messages where id = ? and conversation_id = ?
         union all
         select c.id, c.parent_id, c.depth from messages c join down on c.parent_id = down.id
       )
     ${SELECT_BY_MODE[mode]}`,
    [messageId, conversationId, messageId, conversationId],
  );
  return rows.map((r) => ({ id: r.id, parentId: r.parent_id, depth: r.depth }));
}

/**
 * Copies every planned node into the new conversation with one INSERT … SELECT:
 * the plan arrives as parallel arrays, unnested into rows and joined to the
 * source messages. Parent links inside one statement are checked at its end,
 * so the order of the rows does not matter. Runs stay with the source: the
 * copies have no run.
 */
export async function insertForkCopies(em: EntityManager, conversationId: string, copies: readonly ForkCopy[]): Promise<number> {
  const rows = await execute<{ n: number }>(
    em,
    `with inserted as (
       insert into messages (
         id, created_at, updated_at, conversation_id, parent_id, depth, role, content, reasoning, tool_calls,
         tool_call_id, model, agent_id, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens,
         cost_usd, latency_ms, status, metadata, pinned, excluded)
       select plan.new_id, m.created_at, now(), ?, plan.new_parent_id, plan.new_depth, m.role, m.content, m.reasoning,
              m.tool_calls, m.tool_call_id, m.model, m.agent_id, m.prompt_tokens, m.completion_tokens,
              m.reasoning_tokens, m.cached_tokens, m.cost_usd, m.latency_ms, m.status, m.metadata, m.pinned, m.excluded
         from unnest(?::uuid[], ?::uuid[], ?::uuid[], ?::int[]) as plan(old_id, new_id, new_parent_id, new_depth)
         join messages m on m.id = plan.old_id
       returning 1
     )
     select count(*)::int as n from inserted`,
    [
      conversationId,
      pgUuidArray(copies.map((c) => c.oldId)),
      pgUuidArray(copies.map((c) => c.newId)),
      pgNullableUuidArray(copies.map((c) => c.newParentId)),
      `{${copies.map((c) => c.newDepth).join(',')}}`,
    ],
  );
  return rows[0]?.n ?? 0;
}

/**
 * An active run whose branch passes through the message: its input message is
 * the message or lies below it. Walks up from the (few) active runs of the
 * conversation rather than down the whole subtree.
 */
export async function activeRunThrough(em: EntityManager, conversationId: string, messageId: string): Promise<string | undefined> {
  const rows = await execute<{ run_id: string }>(
    em,
    `with recursive up as (
       select r.id as run_id, m.id, m.parent_id
         from runs r join messages m on m.id = r.input_message_id
        where r.conversation_id = ? and r.status = any(?::run_status[])
       union all
       select up.run_id, p.id, p.parent_id from messages p join up on p.id = up.parent_id
     )
     select run_id from up where id = ? limit 1`,
    [conversationId, `{${ACTIVE_STATUSES.join(',')}}`, messageId],
  );
  return rows[0]?.run_id;
}

/**
 * Replaces a message's content and appends the old content to
 * `metadata.edits` in the same UPDATE, so concurrent edits each leave a record.
 */
export async function editContentInPlace(em: EntityManager, messageId: string, content: string, at: Date): Promise<Record<string, unknown>> {
  const rows = await execute<Record<string, unknown>>(
    em,
    `update messages
        set metadata = jsonb_set(coalesce(metadata, '{}'::jsonb), '{edits}',
              coalesce(metadata->'edits', '[]'::jsonb) || jsonb_build_array(jsonb_build_object('at', ?::text, 'previousContent', content))),
            content = ?,
            updated_at = now()
      where id = ?
      returning *`,
    [at.toISOString(), content, messageId],
  );
  return rows[0];
}
