import type { RequiredEntityData } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { insertColumns } from '../../db/sql';
import { notFound } from '../../server/errors';
import { Conversation } from '../conversations/conversation.entity';
import { Message } from './message.entity';

/**
 * What happens to the conversation's active leaf when a message is added:
 * `move` makes the new message the active leaf; `keep` leaves it; `follow`
 * moves it only if it is still at the parent — a run's output follows the
 * branch the user is looking at, never pulls them off another one.
 */
export type ActiveLeafPolicy = 'move' | 'keep' | 'follow';

export type NewMessageData = Omit<RequiredEntityData<Message>, 'conversation' | 'parent' | 'depth'>;

const LEAF: Record<ActiveLeafPolicy, string> = {
  move: 'inserted.id',
  keep: 'c.active_leaf_id',
  follow: 'case when c.active_leaf_id is not distinct from inserted.parent_id then inserted.id else c.active_leaf_id end',
};

/** A new message's row for a hand-written INSERT: its columns and values, its parent and depth left to the statement. */
export interface NewMessageRow {
  /** The message, not persisted: its id, defaults and timestamps are those inserted. */
  message: Message;
  columns: string[];
  /** The values of `columns` but `parent_id` and `depth`, in order. */
  values: unknown[];
}

const DERIVED: Record<string, string> = { parent_id: 'p.id', depth: 'coalesce(p.depth + 1, 0)' };

export function newMessageRow(em: EntityManager, conversationId: string, data: NewMessageData): NewMessageRow {
  const message = em.create(
    Message,
    { ...data, conversation: em.getReference(Conversation, conversationId) } as RequiredEntityData<Message>,
    { persist: false },
  );
  const { columns, values } = insertColumns(em, Message, message);
  return { message, columns, values: values.filter((_, i) => !(columns[i] in DERIVED)) };
}

/** The parent row `p` of a root message, for `messageInsertCtes`. */
export const NO_PARENT = { sql: 'from (select null::uuid as id, null::int as depth) p', params: [] };

/**
 * Two CTEs, `inserted` (the message, returning id, depth and parent_id) and
 * `leaf` (the conversation's active leaf under `activeLeaf`), inserting one
 * row for the row of `source`: a FROM clause (with its parameters) naming the
 * parent `p` with its `id` and `depth` (both null for a root), which yields
 * no row when the parent is not acceptable, so that nothing is written.
 */
export function messageInsertCtes(
  row: NewMessageRow,
  conversationId: string,
  source: { sql: string; params: unknown[] },
  activeLeaf: ActiveLeafPolicy,
): { sql: string; params: unknown[] } {
  const selectList = row.columns.map((c) => DERIVED[c] ?? '?');
  return {
    sql: `inserted as (
       insert into messages (${row.columns.map((c) => `"${c}"`).join(', ')})
       select ${selectList.join(', ')} ${source.sql}
       returning id, depth, parent_id
     ), leaf as (
       update conversations c set active_leaf_id = ${LEAF[activeLeaf]}, updated_at = now()
         from inserted where c.id = ?
     )`,
    params: [...row.values, ...source.params, conversationId],
  };
}

/** The message of `row` as inserted under `parentId` at `depth`, managed as if loaded: what references it must not insert it again. */
export function insertedMessage(em: EntityManager, row: NewMessageRow, parentId: string | null, depth: number): Message {
  row.message.parent = parentId ? em.getReference(Message, parentId) : undefined;
  row.message.depth = depth;
  return em.merge(row.message);
}

/**
 * The one way a message enters a tree, in one statement in the caller's
 * transaction: the parent must belong to the same conversation (else nothing
 * is written and NOT_FOUND is thrown), the depth is derived from it, and the
 * active-leaf policy is applied to the conversation. Every run step and every
 * sent message comes through here (a run start through `messageInsertCtes`),
 * so it is written by hand, not flushed.
 */
export async function insertMessage(
  em: EntityManager,
  conversationId: string,
  parentId: string | undefined,
  data: NewMessageData,
  activeLeaf: ActiveLeafPolicy,
): Promise<Message> {
  const row = newMessageRow(em, conversationId, data);
  // With a parent, the row is selected only if the parent is in this conversation.
  const source = parentId ? { sql: 'from messages p where p.id = ? and p.conversation_id = ?', params: [parentId, conversationId] } : NO_PARENT;
  const ctes = messageInsertCtes(row, conversationId, source, activeLeaf);
  const rows = await em.getConnection().execute<{ id: string; depth: number }[]>(
    `with ${ctes.sql}
     select id, depth from inserted`,
    ctes.params,
    'all',
    em.getTransactionContext(),
  );
  if (!rows.length) throw notFound('Message', parentId!);
  return insertedMessage(em, row, parentId ?? null, rows[0].depth);
}
