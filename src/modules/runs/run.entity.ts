import { Entity, Enum, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity';
import { Conversation } from '../conversations/conversation.entity';
import { Agent } from '../agents/agent.entity';
import { User } from '../users/user.entity';
import type { Message, ToolCallPart } from '../messages/message.entity';

export enum RunStatus {
  QUEUED = 'QUEUED',
  IN_PROGRESS = 'IN_PROGRESS',
  REQUIRES_ACTION = 'REQUIRES_ACTION',
  CANCELLING = 'CANCELLING',
  CANCELLED = 'CANCELLED',
  FAILED = 'FAILED',
  COMPLETED = 'COMPLETED',
  INCOMPLETE = 'INCOMPLETE',
}

export interface RunErrorPart {
  code: string;
  message: string;
}

/**
 * An agent run. `branchKey` names the branch tip the run continues from; a
 * partial unique index (see migrations) allows one active run per branch.
 */
@Entity({ tableName: 'runs' })
@Index({ properties: ['conversation', 'createdAt'] })
@Index({ properties: ['owner', 'createdAt'] })
// The per-user active-run cap counts through it (run-admission.ts): only runs holding or awaiting a worker slot.
@Index({
  name: 'runs_owner_slot',
  expression: 'create index "runs_owner_slot" on "runs" ("owner_id") where "status" in (\'QUEUED\', \'IN_PROGRESS\', \'CANCELLING\')',
})
// The reconciler scans live runs through it; not on heartbeat_at, so heartbeats stay HOT updates.
@Index({
  name: 'runs_live_deadline',
  expression: 'create index "runs_live_deadline" on "runs" ("deadline_at") where "status" in (\'IN_PROGRESS\', \'REQUIRES_ACTION\', \'CANCELLING\')',
})
@Unique({
  name: 'runs_one_active_per_branch',
  expression:
    'create unique index "runs_one_active_per_branch" on "runs" ("conversation_id", "branch_key") where "status" in (\'QUEUED\', \'IN_PROGRESS\', \'REQUIRES_ACTION\', \'CANCELLING\')',
})
export class Run extends BaseEntity<
  | 'agent'
  | 'status'
  | 'inputMessage'
  | 'responseMessage'
  | 'promptTokens'
  | 'completionTokens'
  | 'reasoningTokens'
  | 'cachedTokens'
  | 'costUsd'
  | 'timeToFirstTokenMs'
  | 'error'
  | 'startedAt'
  | 'completedAt'
  | 'options'
  | 'pendingToolCalls'
  | 'contextPlan'
  | 'comparisonId'
  | 'heartbeatAt'
  | 'deadlineAt'
> {
  @ManyToOne(() => Conversation, { deleteRule: 'cascade' })
  conversation!: Conversation;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  owner!: User;

  // Every foreign key that points at a row is indexed: deleting that row (an agent, a message
  // in a deleted conversation) checks the referencing rows through it instead of scanning the table.
  @ManyToOne(() => Agent, { nullable: true, deleteRule: 'set null', index: true })
  agent?: Agent;

  @Property({ type: 'string', length: 200 })
  model!: string;

  @Enum({ items: () => RunStatus, nativeEnumName: 'run_status' })
  status: RunStatus = RunStatus.QUEUED;

  @Property({ type: 'string', length: 64 })
  branchKey!: string;

  /** The message the run answers (its context ends here). */
  @ManyToOne({ entity: 'Message', nullable: true, deleteRule: 'set null', index: true })
  inputMessage?: Message;

  /** The last message the run wrote (the branch's new tip). */
  @ManyToOne({ entity: 'Message', nullable: true, deleteRule: 'set null', index: true })
  responseMessage?: Message;

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
  timeToFirstTokenMs?: number;

  @Property({ type: 'json', nullable: true })
  error?: RunErrorPart;

  /** Client-side tool calls the run is waiting for (status REQUIRES_ACTION). */
  @Property({ type: 'json', nullable: true })
  pendingToolCalls?: ToolCallPart[];

  /** What the last model call was sent: every item with its tokens, and what was dropped or summarized. */
  @Property({ type: 'json', nullable: true })
  contextPlan?: Record<string, unknown>;

  /** Runs started together by compareModels share this id. */
  @Property({ type: 'uuid', nullable: true })
  @Index()
  comparisonId?: string;

  /** Execution options frozen at creation (temperature, max steps, tools...). */
  @Property({ type: 'json', nullable: true })
  options?: Record<string, unknown>;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  startedAt?: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  completedAt?: Date;

  /** Renewed by the worker executing the run; older than the lease (PARLEY_RUN_LEASE_MS) means the worker is gone. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  heartbeatAt?: Date;

  /**
   * When the current state must end: the execution deadline while IN_PROGRESS
   * (set at each claim), the tool-output deadline while REQUIRES_ACTION.
   */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  deadlineAt?: Date;
}
