import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { RunStatus } from './run.entity';
import { RunStepStatus, RunStepType } from './run-step.entity';
import { UsageType } from '../usage/usage.types';
import { ToolCallType } from '../messages/message.types';

registerEnumType(RunStatus, {
  name: 'RunStatus',
  description:
    'QUEUED → IN_PROGRESS → (REQUIRES_ACTION ⇄ IN_PROGRESS) → COMPLETED | FAILED | CANCELLED | INCOMPLETE; CANCELLING while a cancel is in flight.',
});
registerEnumType(RunStepType, { name: 'RunStepType', description: 'A model call or a tool call.' });
registerEnumType(RunStepStatus, { name: 'RunStepStatus', description: 'State of one step.' });

@ObjectType('RunError', { description: 'Why a run failed.' })
export class RunErrorType {
  @Field({ description: 'Machine-readable code, e.g. UPSTREAM_RATE_LIMITED, TRUNCATED_STREAM.' })
  code!: string;

  @Field({ description: 'Human-readable explanation.' })
  message!: string;
}

@ObjectType('RunStep', { description: 'One model call or tool call within a run.' })
export class RunStepObject {
  @Field(() => ID, { description: 'Step id.' })
  id!: string;

  @Field(() => Int, { description: 'Position in the run, from 0.' })
  index!: number;

  @Field(() => RunStepType, { description: 'Kind of step.' })
  type!: RunStepType;

  @Field(() => RunStepStatus, { description: 'State of the step.' })
  status!: RunStepStatus;

  @Field(() => String, { nullable: true, description: 'Model called (MODEL_CALL).' })
  model!: string | null;

  @Field(() => String, { nullable: true, description: 'Tool called (TOOL_CALL).' })
  toolName!: string | null;

  @Field(() => String, { nullable: true, description: 'Tool call id (TOOL_CALL).' })
  toolCallId!: string | null;

  @Field(() => UsageType, { description: 'Tokens and cost of the step.' })
  usage!: UsageType;

  @Field(() => Int, { nullable: true, description: 'Milliseconds to the first streamed token (MODEL_CALL).' })
  timeToFirstTokenMs!: number | null;

  @Field(() => Int, { nullable: true, description: 'Duration in milliseconds.' })
  durationMs!: number | null;

  @Field(() => RunErrorType, { nullable: true, description: 'Failure, if the step failed.' })
  error!: RunErrorType | null;

  @Field({ description: 'Start time.' })
  startedAt!: Date;

  @Field(() => Date, { nullable: true, description: 'End time.' })
  completedAt!: Date | null;
}

@ObjectType('Run', { description: 'One execution of a model (and its tools) answering a branch.' })
export class RunObject {
  @Field(() => ID, { description: 'Run id.' })
  id!: string;

  @Field(() => RunStatus, { description: 'Current state.' })
  status!: RunStatus;

  @Field({ description: 'Model id as `provider/model`.' })
  model!: string;

  @Field(() => UsageType, { description: 'Tokens and cost over all steps.' })
  usage!: UsageType;

  @Field(() => Float, { description: 'Cost in US dollars (same as usage.costUsd).' })
  costUsd!: number;

  @Field(() => Int, { nullable: true, description: 'Milliseconds from the request to the first streamed token.' })
  timeToFirstTokenMs!: number | null;

  @Field(() => Int, { nullable: true, description: 'Milliseconds from start to end.' })
  durationMs!: number | null;

  @Field(() => RunErrorType, { nullable: true, description: 'Why the run failed.' })
  error!: RunErrorType | null;

  @Field({ description: 'Creation time.' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When execution started.' })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the run reached a final state.' })
  completedAt!: Date | null;

  @Field(() => [ToolCallType], { description: 'Client-side tool calls awaiting submitToolOutputs (REQUIRES_ACTION).' })
  pendingToolCalls!: ToolCallType[];

  conversationId!: string;
  agentId!: string | null;
  inputMessageId!: string | null;
  responseMessageId!: string | null;
}
