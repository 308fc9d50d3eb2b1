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

/**
 * The one way a message enters a tree, in one statement in the caller's
 * transaction: the parent must belong to the same conversation (else nothing
 * is written and NOT_FOUND is thrown), the depth is derived from it, and the
 * active-leaf policy is applied to the conversation. Every run step and every
 * sent message comes through here, so it is written by hand, not flushed.
 */
export async function insertMessage(
  em: EntityManager,
  conversationId: string,
  parentId: string | undefined,
  data: NewMessageData,
  activeLeaf: ActiveLeafPolicy,
): Promise<Message> {
  const message = em.create(
    Message,
    {
      ...data,
      conversation: em.getReference(Conversation, conversationId),
      parent: parentId ? em.getReference(Message, parentId) : undefined,
    } as RequiredEntityData<Message>,
    { persist: false },
  );
  const { columns, values } = insertColumns(em, Message, message);
  const depthAt = columns.indexOf('depth');
  const selectList = columns.map((_, i) => (i === depthAt ? 'coalesce(p.depth + 1, 0)' : '?'));
  values.splice(depthAt, 1);
  // With a parent, the row is selected only if the parent is in this conversation; without one, from a single dummy row.
  const source = parentId
    ? 'from messages p where p.id = ? and p.conversation_id = ?'
    : 'from (select null::int as depth) p';
  const rows = await em.getConnection().execute<{ id: string; depth: number }[]>(
    `with inserted as (
       insert into messages (${columns.map((c) => `"${c}"`).join(', ')})
       select ${selectList.join(', ')} ${source}
       returning id, depth, parent_id
     ), leaf as (
       update conversations c set active_leaf_id = ${LEAF[activeLeaf]}, updated_at = now()
         from inserted where c.id = ?
     )
     select id, depth from inserted`,
    [...values, ...(parentId ? [parentId, conversationId] : []), conversationId],
    'all',
    em.getTransactionContext(),
  );
  if (!rows.length) throw notFound('Message', parentId!);
  message.depth = rows[0].depth;
  // Managed from here on, as if loaded: a run or step that references it must not insert it again.
  return em.merge(message);
}
