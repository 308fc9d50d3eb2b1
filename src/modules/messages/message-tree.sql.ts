import type { EntityManager } from '@mikro-orm/postgresql';
import { pgUuidArray, preparedRows, type PreparedStatement } from '../../db/sql';
import { Message } from './message.entity';
import { messageFromJson, type MessageJson } from './message.mappers';
import type { MessageType } from './message.types';

/** Part of the path to `leafId`: `limit` messages from depth `fromDepth`. */
export interface PathSlice {
  leafId: string;
  fromDepth: number;
  limit: number;
}

export const pathSliceKey = (s: PathSlice): string => `${s.leafId}:${s.fromDepth}:${s.limit}`;

/**
 * A message as one json value, already shaped as MessageType (usage nested,
 * missing tool calls as []), created_at as epoch milliseconds: the driver
 * decodes one string per message with JSON.parse instead of two dozen fields
 * one by one, and nothing is copied after (see messageFromJson).
 */
const MESSAGE_JSON = `json_build_object('id', m.id, 'role', m.role, 'content', m.content, 'reasoning', m.reasoning,
  'toolCalls', coalesce(m.tool_calls, '[]'::jsonb), 'toolCallId', m.tool_call_id, 'model', m.model, 'status', m.status,
  'depth', m.depth, 'usage', json_build_object('promptTokens', m.prompt_tokens, 'completionTokens', m.completion_tokens,
    'reasoningTokens', m.reasoning_tokens, 'cachedTokens', m.cached_tokens,
    'totalTokens', m.prompt_tokens::bigint + m.completion_tokens, 'costUsd', m.cost_usd),
  'latencyMs', m.latency_ms, 'createdAt', (extract(epoch from m.created_at) * 1000)::float8, 'pinned', m.pinned,
  'excluded', m.excluded, 'conversationId', m.conversation_id, 'parentId', m.parent_id, 'agentId', m.agent_id, 'runId', m.run_id)`;

/** One row per requested slice: its leaf (null when missing) and its messages, root first, as json. */
const PATH_SLICES: PreparedStatement = {
  name: 'messages_path_slices',
  text: `with recursive req as (
       select * from unnest($1::uuid[], $2::int[], $3::int[]) as r(leaf_id, from_depth, lim)
     ), path as (
       select m.id, m.parent_id, m.depth, m.id as leaf_id from messages m where m.id in (select leaf_id from req)
       union all
       select p.id, p.parent_id, p.depth, path.leaf_id from messages p join path on p.id = path.parent_id
     )
     select req.leaf_id as "leafId", req.from_depth as "fromDepth", req.lim as "limit",
            (array_agg(${MESSAGE_JSON}) filter (where path.id = req.leaf_id))[1] as leaf,
            coalesce(json_agg(${MESSAGE_JSON} order by path.depth)
                       filter (where path.depth >= req.from_depth and path.depth < req.from_depth + req.lim), '[]') as messages
       from req join path on path.leaf_id = req.leaf_id join messages m on m.id = path.id
      where path.depth >= req.from_depth and path.depth < req.from_depth + req.lim
         or path.id = req.leaf_id
      group by req.leaf_id, req.from_depth, req.lim`,
};

/** A page of a branch path as plain messages; `leaf` is undefined when the leaf does not exist. */
export interface PathSliceRows {
  leaf: MessageType | undefined;
  messages: MessageType[];
}

/**
 * Slices of branch paths, for many leaves at once, in one prepared recursive
 * statement: each leaf walks up through parent_id carrying only ids and
 * depths, and just the rows of each requested slice are read in full, as
 * plain objects (no entities: a list of 50 conversations × 20 messages would
 * otherwise spend most of its time in the identity map). Depths along a path
 * are consecutive, so a slice is a depth range. The leaf's own row always
 * comes back, so the caller can tell an empty slice of an existing path (its
 * `leaf`) from a missing leaf (none).
 */
export async function loadPathSlices(em: EntityManager, slices: readonly PathSlice[]): Promise<Map<string, PathSliceRows>> {
  const rows = await preparedRows<PathSlice & { leaf: MessageJson | null; messages: MessageJson[] }>(em, PATH_SLICES, [
    slices.map((s) => s.leafId),
    slices.map((s) => s.fromDepth),
    slices.map((s) => s.limit),
  ]);
  const out = new Map<string, PathSliceRows>();
  for (const row of rows) {
    out.set(pathSliceKey(row), { leaf: row.leaf ? messageFromJson(row.leaf) : undefined, messages: row.messages.map(messageFromJson) });
  }
  return out;
}

const MESSAGES_BY_ID: PreparedStatement = {
  name: 'messages_by_id',
  text: `select ${MESSAGE_JSON} as message from messages m where m.id = any($1::uuid[])`,
};

/** Messages by id as plain objects, in one prepared statement (no ownership check: callers pass ids they were shown). */
export async function loadMessagesById(em: EntityManager, ids: readonly string[]): Promise<Map<string, MessageType>> {
  const rows = await preparedRows<{ message: MessageJson }>(em, MESSAGES_BY_ID, [ids]);
  return new Map(rows.map((r) => [r.message.id, messageFromJson(r.message)]));
}

/**
 * Whole branch paths, for many leaves at once, in one recursive statement:
 * each leaf walks up through parent_id, carrying its own id so rows can be
 * grouped. Returns each path ordered root → leaf. (Reading every row in the
 * walk itself is cheaper than loadPathSlices's walk-then-join when all of
 * them are wanted, as the run engine's context does.)
 */
export async function loadPaths(em: EntityManager, leafIds: readonly string[]): Promise<Map<string, Message[]>> {
  const rows = await em.getConnection().execute<Record<string, unknown>[]>(
    `with recursive path as (
       select m.*, m.id as path_leaf_id from messages m where m.id = any(?::uuid[])
       union all
       select p.*, path.path_leaf_id from messages p join path on p.id = path.parent_id
     )
     select * from path order by path_leaf_id, depth`,
    [pgUuidArray(leafIds)],
  );
  const entities = mapPathRows(em, rows, ['path_leaf_id']);
  const out = new Map<string, Message[]>();
  for (const row of rows) {
    const leaf = row.path_leaf_id as string;
    const list = out.get(leaf) ?? [];
    list.push(entities.get(row.id as string)!);
    out.set(leaf, list);
  }
  return out;
}

/**
 * Path rows to entities. Hydration is quadratic in depth if done naively (~1 s
 * for a 1 000-message path, bench/tree.ts): every em.map merges through the
 * already-loaded parent chain, and through the Conversation whose activeLeaf
 * points into it. So each distinct row is mapped once, deepest first, into a
 * clean fork. Path messages are read-only snapshots; nothing flushes them.
 */
function mapPathRows(em: EntityManager, rows: Record<string, unknown>[], extraColumns: string[]): Map<string, Message> {
  const mapper = em.fork({ clear: true });
  const entities = new Map<string, Message>();
  for (let i = rows.length - 1; i >= 0; i--) {
    const id = rows[i].id as string;
    if (entities.has(id)) continue;
    const row = { ...rows[i] };
    for (const column of extraColumns) delete row[column];
    entities.set(id, mapper.map(Message, row));
  }
  return entities;
}

/** The path to one leaf, root first (empty if the leaf does not exist). */
export async function loadPath(em: EntityManager, leafId: string): Promise<Message[]> {
  return (await loadPaths(em, [leafId])).get(leafId) ?? [];
}

/** Key of a sibling group: the children of one parent (or the roots) of one conversation. */
export const siblingGroup = (conversationId: string, parentId: string | null): string =>
  `${conversationId}:${parentId ?? 'root'}`;

/** All children of many parents (and roots of many conversations) in one statement, oldest first. */
export async function loadChildren(em: EntityManager, groups: readonly string[]): Promise<Map<string, Message[]>> {
  const parents: string[] = [];
  const rootsOf: string[] = [];
  for (const g of groups) {
    const [conversationId, parent] = g.split(':');
    if (parent === 'root') rootsOf.push(conversationId);
    else parents.push(parent);
  }
  const rows = await em.getConnection().execute<Record<string, unknown>[]>(
    `select * from messages
      where parent_id = any(?::uuid[]) or (parent_id is null and conversation_id = any(?::uuid[]))
      order by id`,
    [pgUuidArray(parents), pgUuidArray(rootsOf)],
  );
  const out = new Map<string, Message[]>();
  for (const row of rows) {
    const key = siblingGroup(row.conversation_id as string, (row.parent_id as string | null) ?? null);
    const list = out.get(key) ?? [];
    list.push(em.map(Message, row));
    out.set(key, list);
  }
  return out;
}
