import { Entity, Enum, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity';
import { Conversation } from '../conversations/conversation.entity';
import { Agent } from '../agents/agent.entity';
import type { Run } from '../runs/run.entity';

export enum MessageRole {
  SYSTEM = 'SYSTEM',
  USER = 'USER',
  ASSISTANT = 'ASSISTANT',
  TOOL = 'TOOL',
}

export enum MessageStatus {
  COMPLETE = 'COMPLETE',
  INCOMPLETE = 'INCOMPLETE',
}

/** One tool call requested by the model, stored as a typed jsonb part. */
export interface ToolCallPart {
  id: string;
  name: string;
  /** Raw JSON text of the arguments, exactly as the model produced it. */
  arguments: string;
}

/**
 * A node of the conversation tree. `depth` (0 for a root) lets a branch path be
 * paginated by position without walking it twice.
 */
@Entity({ tableName: 'messages' })
@Index({ properties: ['conversation', 'createdAt'] })
@Index({ properties: ['parent', 'id'] })
@Index({
  name: 'messages_content_fts_index',
  expression: `create index "messages_content_fts_index" on "messages" using gin (to_tsvector('english', "content"))`,
})
export class Message extends BaseEntity<
  | 'parent'
  | 'depth'
  | 'reasoning'
  | 'toolCalls'
  | 'toolCallId'
  | 'model'
  | 'agent'
  | 'run'
  | 'promptTokens'
  | 'completionTokens'
  | 'reasoningTokens'
  | 'cachedTokens'
  | 'costUsd'
  | 'latencyMs'
  | 'status'
  | 'metadata'
  | 'pinned'
  | 'excluded'
> {
  @ManyToOne(() => Conversation, { deleteRule: 'cascade' })
  conversation!: Conversation;

  @ManyToOne(() => Message, { nullable: true, deleteRule: 'cascade' })
  parent?: Message;

  @Property({ type: 'integer' })
  depth = 0;

  @Enum({ items: () => MessageRole, nativeEnumName: 'message_role' })
  role!: MessageRole;

  @Property({ type: 'text' })
  content!: string;

  @Property({ type: 'text', nullable: true })
  reasoning?: string;

  @Property({ type: 'json', nullable: true })
  toolCalls?: ToolCallPart[];

  @Property({ type: 'string', length: 200, nullable: true })
  toolCallId?: string;

  @Property({ type: 'string', length: 200, nullable: true })
  model?: string;

  @ManyToOne(() => Agent, { nullable: true, deleteRule: 'set null', index: true })
  agent?: Agent;

  @ManyToOne({ entity: 'Run', nullable: true, deleteRule: 'set null', index: true })
  run?: Run;

  @Property({ type: 'integer' })
  promptTokens = 0;

  @Property({ type: 'integer' })
  completionTokens = 0;

  @Property({ type: 'integer' })
  reasoningTokens = 0;

  @Property({ type: 'integer' })
  cachedTokens = 0;

  @Property({ type: 'double' })
  costUsd = 0;

  @Property({ type: 'integer', nullable: true })
  latencyMs?: number;

  @Enum({ items: () => MessageStatus, nativeEnumName: 'message_status' })
  status: MessageStatus = MessageStatus.COMPLETE;

  @Property({ type: 'json', nullable: true })
  metadata?: Record<string, unknown>;

  /** Always kept in the model's context (PINNED_FIRST / HYBRID strategies). */
  @Property({ type: 'boolean' })
  pinned = false;

  /** Never sent to the model, though it stays in the tree. */
  @Property({ type: 'boolean' })
  excluded = false;
}
