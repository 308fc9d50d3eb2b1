import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Message } from './message.entity';
import { loadChildren, loadPathSlices, pathSliceKey, type PathSlice } from './message-tree.sql';

export function createMessageLoaders(em: EntityManager) {
  const byId = new DataLoader<string, Message | null>(async (ids) => {
    const rows = await em.find(Message, { id: { $in: [...ids] } });
    const map = new Map(rows.map((m) => [m.id, m]));
    return ids.map((id) => map.get(id) ?? null);
  });

  /** A page of a branch path; `leaf` is undefined when the leaf does not exist. */
  const pathSlice = new DataLoader<PathSlice, { leaf: Message | undefined; messages: Message[] }, string>(
    async (slices) => {
      const loaded = await loadPathSlices(em, slices);
      return slices.map((s) => {
        const slice = loaded.get(pathSliceKey(s)) ?? { leaf: undefined, messages: [] };
        // Every message read is now known: later lookups of it cost nothing.
        for (const m of slice.messages) byId.prime(m.id, m);
        return slice;
      });
    },
    { cacheKeyFn: pathSliceKey },
  );

  const childrenOf = new DataLoader<string, Message[]>(async (groups) => {
    const children = await loadChildren(em, groups);
    return groups.map((g) => children.get(g) ?? []);
  });

  return { messageById: byId, pathSlice, childrenOf };
}

export type MessageLoaders = ReturnType<typeof createMessageLoaders>;
