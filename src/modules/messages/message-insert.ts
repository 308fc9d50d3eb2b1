import type { RequiredEntityData } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
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

/**
 * The one way a message enters a tree: checks the parent belongs to the same
 * conversation, derives the depth, and applies the active-leaf policy, all in
 * the caller's transaction.
 */
export async function insertMessage(
  em: EntityManager,
  conversationId: string,
  parentId: string | undefined,
  data: NewMessageData,
  activeLeaf: ActiveLeafPolicy,
): Promise<Message> {
  let depth = 0;
  if (parentId) {
    const parent = await em.findOne(Message, { id: parentId, conversation: conversationId }, { fields: ['id', 'depth'] });
    if (!parent) throw notFound('Message', parentId);
    depth = parent.depth + 1;
  }
  const message = em.create(Message, {
    ...data,
    conversation: em.getReference(Conversation, conversationId),
    parent: parentId ? em.getReference(Message, parentId) : undefined,
    depth,
  } as RequiredEntityData<Message>);
  await em.flush();
  if (activeLeaf === 'follow') {
    await em.getConnection().execute(
      `update conversations set active_leaf_id = case when active_leaf_id is not distinct from ? then ?::uuid else active_leaf_id end,
              updated_at = now() where id = ?`,
      [parentId ?? null, message.id, conversationId],
      'run',
      em.getTransactionContext(),
    );
  } else {
    const touch = activeLeaf === 'move' ? { updatedAt: new Date(), activeLeaf: message.id } : { updatedAt: new Date() };
    await em.nativeUpdate(Conversation, { id: conversationId }, touch);
  }
  return message;
}
