import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Message } from './message.entity';
import { loadChildren, loadMessagesById, loadPathSlices, pathSliceKey, type PathSlice, type PathSliceRows } from './message-tree.sql';
import type { MessageType } from './message.types';

export function createMessageLoaders(em: EntityManager) {
  const byId = new DataLoader<string, Message | null>(async (ids) => {
    const rows = await em.find(Message, { id: { $in: [...ids] } });
    const map = new Map(rows.map((m) => [m.id, m]));
    return ids.map((id) => map.get(id) ?? null);
  });

  /** Messages this request has read in path slices: later lookups of them (a parent, the active leaf) cost nothing. */
  const seen = new Map<string, MessageType>();

  /** Messages as plain GraphQL objects, for fields that only show them (Message.parent, Conversation.activeLeaf). */
  const plainById = new DataLoader<string, MessageType | null>(async (ids) => {
    const missing = ids.filter((id) => !seen.has(id));
    const map = missing.length ? await loadMessagesById(em, missing) : new Map<string, MessageType>();
    return ids.map((id) => seen.get(id) ?? map.get(id) ?? null);
  });

  /** A page of a branch path, plain; `leaf` is undefined when the leaf does not exist. */
  const pathSlice = new DataLoader<PathSlice, PathSliceRows, string>(
    async (slices) => {
      const loaded = await loadPathSlices(em, slices);
      return slices.map((s) => {
        const slice = loaded.get(pathSliceKey(s)) ?? { leaf: undefined, messages: [] };
        // A map entry, not DataLoader.prime: priming makes a promise per message whether it is asked for or not.
        for (const m of slice.messages) seen.set(m.id, m);
        if (slice.leaf) seen.set(slice.leaf.id, slice.leaf);
        return slice;
      });
    },
    { cacheKeyFn: pathSliceKey },
  );

  const childrenOf = new DataLoader<string, Message[]>(async (groups) => {
    const children = await loadChildren(em, groups);
    return groups.map((g) => children.get(g) ?? []);
  });

  return { messageById: byId, plainMessageById: plainById, pathSlice, childrenOf };
}

export type MessageLoaders = ReturnType<typeof createMessageLoaders>;
