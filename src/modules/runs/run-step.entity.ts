import { Entity, Enum, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity';
import { Run, type RunErrorPart } from './run.entity';

export enum RunStepType {
  MODEL_CALL = 'MODEL_CALL',
  TOOL_CALL = 'TOOL_CALL',
}

export enum RunStepStatus {
  IN_PROGRESS = 'IN_PROGRESS',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}

@Entity({ tableName: 'run_steps' })
@Unique({ properties: ['run', 'index'] })
export class RunStep extends BaseEntity<
  | 'toolName'
  | 'toolCallId'
  | 'input'
  | 'output'
  | 'promptTokens'
  | 'completionTokens'
  | 'reasoningTokens'
  | 'cachedTokens'
  | 'costUsd'
  | 'error'
  | 'completedAt'
  | 'timeToFirstTokenMs'
> {
  @ManyToOne(() => Run, { deleteRule: 'cascade' })
  run!: Run;

  @Property({ type: 'integer' })
  index!: number;

  @Enum({ items: () => RunStepType, nativeEnumName: 'run_step_type' })
  type!: RunStepType;

  @Enum({ items: () => RunStepStatus, nativeEnumName: 'run_step_status' })
  status!: RunStepStatus;

  @Property({ type: 'string', length: 200, nullable: true })
  model?: string;

  @Property({ type: 'string', length: 200, nullable: true })
  toolName?: string;

  @Property({ type: 'string', length: 200, nullable: true })
  toolCallId?: string;

  @Property({ type: 'json', nullable: true })
  input?: unknown;

  @Property({ type: 'json', nullable: true })
  output?: unknown;

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

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  startedAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  completedAt?: Date;
}
