import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Deletes the summaries whose branch runs through `message`: each summary's
 * through-message walks up to the message's depth, in one statement. Whoever
 * changes what a message says to the model (pin, exclude, an in-place edit)
 * calls it in the same transaction.
 */
export async function forgetSummariesThrough(em: EntityManager, message: { id: string; depth: number; conversation: { id: string } }): Promise<void> {
  await em.getConnection().execute(
    `with recursive up as (
       select cs.id as summary_id, m.id, m.parent_id, m.depth
         from context_summaries cs join messages m on m.id = cs.through_message_id
        where cs.conversation_id = ? and m.depth >= ?
       union all
       select up.summary_id, p.id, p.parent_id, p.depth from messages p join up on p.id = up.parent_id where up.depth > ?
     )
     delete from context_summaries where id in (select summary_id from up where id = ?)`,
    [message.conversation.id, message.depth, message.depth, message.id],
    'run',
    em.getTransactionContext(),
  );
}
