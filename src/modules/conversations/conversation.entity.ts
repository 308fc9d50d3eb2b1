import { Entity, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity';
import { User } from '../users/user.entity';
import { Agent } from '../agents/agent.entity';
import type { Message } from '../messages/message.entity';
import type { ContextStrategy } from '../context/context-planner';
import type { ForkOrigin } from '../branches/fork';

/** Per-conversation defaults used when a run has no agent. */
export interface ConversationSettings {
  model?: string;
  systemPrompt?: string;
  temperature?: number;
  contextStrategy?: ContextStrategy;
  /** Set by forkConversation; not a run default, and not changeable through updateConversation. */
  forkedFrom?: ForkOrigin;
}

@Entity({ tableName: 'conversations' })
@Index({ properties: ['owner', 'updatedAt', 'id'] })
@Index({ properties: ['tags'], type: 'gin' })
export class Conversation extends BaseEntity<'tags' | 'settings' | 'agent' | 'activeLeaf' | 'archivedAt' | 'version'> {
  @ManyToOne(() => User, { deleteRule: 'cascade' })
  owner!: User;

  @Property({ type: 'string', length: 200 })
  title!: string;

  @Property({ type: 'array', columnType: 'text[]' })
  tags: string[] = [];

  @Property({ type: 'json' })
  settings: ConversationSettings = {};

  @ManyToOne(() => Agent, { nullable: true, deleteRule: 'set null', index: true })
  agent?: Agent;

  @ManyToOne({ entity: 'Message', nullable: true, deleteRule: 'set null', index: true })
  activeLeaf?: Message;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  archivedAt?: Date;

  /** Optimistic lock: updates may name the version they read. */
  @Property({ type: 'integer', version: true })
  version!: number;
}
