import type { EntityManager } from '@mikro-orm/postgresql';
import { pgUuidArray } from '../../db/sql';
import { Message } from './message.entity';

/** Part of the path to `leafId`: `limit` messages from depth `fromDepth`. */
export interface PathSlice {
  leafId: string;
  fromDepth: number;
  limit: number;
}

export const pathSliceKey = (s: PathSlice): string => `${s.leafId}:${s.fromDepth}:${s.limit}`;

/**
 * Slices of branch paths, for many leaves at once, in one recursive
 * statement: each leaf walks up through parent_id carrying only ids and
 * depths, and just the rows of each requested slice are read in full and
 * turned into entities (a page of 100 off a 1 000-deep path maps 100 rows,
 * not 1 000). Depths along a path are consecutive, so a slice is a depth
 * range. The leaf's own row always comes back, so the caller can tell an
 * empty slice of an existing path (its `leaf`) from a missing leaf (none).
 */
export async function loadPathSlices(
  em: EntityManager,
  slices: readonly PathSlice[],
): Promise<Map<string, { leaf: Message | undefined; messages: Message[] }>> {
  const rows = await em.getConnection().execute<Record<string, unknown>[]>(
    `with recursive req as (
       select * from unnest(?::uuid[], ?::int[], ?::int[]) as r(leaf_id, from_depth, lim)
     ), path as (
       select m.id, m.parent_id, m.depth, m.id as leaf_id from messages m where m.id in (select leaf_id from req)
       union all
       select p.id, p.parent_id, p.depth, path.leaf_id from messages p join path on p.id = path.parent_id
     )
     select m.*, req.leaf_id as slice_leaf_id, req.from_depth as slice_from, req.lim as slice_limit
       from req join path on path.leaf_id = req.leaf_id join messages m on m.id = path.id
      where path.depth >= req.from_depth and path.depth < req.from_depth + req.lim
         or path.id = req.leaf_id
      order by req.leaf_id, req.from_depth, req.lim, path.depth`,
    [
      pgUuidArray(slices.map((s) => s.leafId)),
      `{${slices.map((s) => s.fromDepth).join(',')}}`,
      `{${slices.map((s) => s.limit).join(',')}}`,
    ],
  );
  const entities = mapPathRows(em, rows, ['slice_leaf_id', 'slice_from', 'slice_limit']);
  const out = new Map<string, { leaf: Message | undefined; messages: Message[] }>();
  for (const row of rows) {
    const slice = { leafId: row.slice_leaf_id as string, fromDepth: row.slice_from as number, limit: row.slice_limit as number };
    const key = pathSliceKey(slice);
    const entry = out.get(key) ?? { leaf: undefined, messages: [] };
    const message = entities.get(row.id as string)!;
    if (message.id === slice.leafId) entry.leaf = message;
    const depth = row.depth as number;
    if (depth >= slice.fromDepth && depth < slice.fromDepth + slice.limit) entry.messages.push(message);
    out.set(key, entry);
  }
  return out;
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
