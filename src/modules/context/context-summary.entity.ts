import { Entity, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity';
import { Conversation } from '../conversations/conversation.entity';
import { Message } from '../messages/message.entity';

/**
 * A summary of a branch from its root through `throughMessage`, written once by
 * the summarizer model and reused by every later run on any branch sharing
 * that prefix (the path to a message is the same on every branch through it).
 */
@Entity({ tableName: 'context_summaries' })
@Index({ properties: ['throughMessage', 'model'] })
export class ContextSummary extends BaseEntity {
  @ManyToOne(() => Conversation, { deleteRule: 'cascade', index: true })
  conversation!: Conversation;

  @ManyToOne(() => Message, { deleteRule: 'cascade' })
  throughMessage!: Message;

  /** Model that wrote the summary. */
  @Property({ type: 'string', length: 200 })
  model!: string;

  @Property({ type: 'text' })
  content!: string;

  @Property({ type: 'integer' })
  tokenCount!: number;

  /** How many messages the summary replaces. */
  @Property({ type: 'integer' })
  messageCount!: number;
}
