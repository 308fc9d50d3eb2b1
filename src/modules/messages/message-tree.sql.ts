import type { EntityManager } from '@mikro-orm/postgresql';
import { pgUuidArray } from '../../db/sql';
import { Message } from './message.entity';

/**
 * Branch paths, for many leaves at once, in one recursive statement: each
 * leaf walks up through parent_id, carrying its own id so rows can be grouped.
 * Returns each path ordered root → leaf.
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
  // Hydration is quadratic in depth if done naively (~1 s for a 1 000-message path, bench/tree.ts):
  // every em.map merges through the already-loaded parent chain, and through the Conversation
  // whose activeLeaf points into it. So each distinct row is mapped once, deepest first, into a
  // clean fork. Path messages are read-only snapshots; nothing flushes them.
  const mapper = em.fork({ clear: true });
  const entities = new Map<string, Message>();
  for (let i = rows.length - 1; i >= 0; i--) {
    const { path_leaf_id: _leaf, ...row } = rows[i];
    const id = row.id as string;
    if (!entities.has(id)) entities.set(id, mapper.map(Message, row));
  }
  const out = new Map<string, Message[]>();
  for (const row of rows) {
    const leaf = row.path_leaf_id as string;
    const list = out.get(leaf) ?? [];
    list.push(entities.get(row.id as string)!);
    out.set(leaf, list);
  }
  return out;
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
