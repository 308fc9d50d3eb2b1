import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Message } from './message.entity';
import { loadChildren, loadPaths } from './message-tree.sql';

export function createMessageLoaders(em: EntityManager) {
  const byId = new DataLoader<string, Message | null>(async (ids) => {
    const rows = await em.find(Message, { id: { $in: [...ids] } });
    const map = new Map(rows.map((m) => [m.id, m]));
    return ids.map((id) => map.get(id) ?? null);
  });

  const pathByLeaf = new DataLoader<string, Message[]>(async (leafIds) => {
    const paths = await loadPaths(em, leafIds);
    return leafIds.map((id) => {
      const path = paths.get(id) ?? [];
      // Every message on a path is now known: later `parent` lookups cost nothing.
      for (const m of path) byId.prime(m.id, m);
      return path;
    });
  });

  const childrenOf = new DataLoader<string, Message[]>(async (groups) => {
    const children = await loadChildren(em, groups);
    return groups.map((g) => children.get(g) ?? []);
  });

  return { messageById: byId, pathByLeaf, childrenOf };
}

export type MessageLoaders = ReturnType<typeof createMessageLoaders>;
