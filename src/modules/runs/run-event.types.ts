import { Field, ID, Int, InterfaceType, ObjectType } from 'type-graphql';
import { RunStatus } from './run.entity';
import { RunStepType } from './run-step.entity';
import { RunErrorType } from './run.types';
import { ToolCallType } from '../messages/message.types';
import { UsageType } from '../usage/usage.types';
import type { RunEvent } from '../../events/run-event.types';

@InterfaceType('RunEvent', {
  description: 'One event of a run, in order. `seq` is gap-free from 1: resume with `runEvents(after: lastSeq)`.',
  resolveType: (value: RunEvent) => value.type,
})
export abstract class RunEventInterface {
  @Field(() => Int, { description: 'Position in the run\'s event log, from 1, without gaps.' })
  seq!: number;

  @Field(() => ID, { description: 'The run.' })
  runId!: string;

  @Field({ description: 'When the event was appended.' })
  at!: Date;
}

// simpleResolvers: event fields are plain data, read by graphql's default resolver; with no resolver of
// their own, their subscriptions' events are serialized without graphql execute (server/fixed-shape.ts).
const implementing = (name: string, description: string) =>
  ObjectType(name, { implements: RunEventInterface, description, simpleResolvers: true });

@implementing('RunStatusChanged', 'The run moved to another status.')
export class RunStatusChangedEvent extends RunEventInterface {
  @Field(() => RunStatus, { description: 'New status.' })
  status!: RunStatus;

  @Field(() => RunStatus, { nullable: true, description: 'Previous status.' })
  previousStatus!: RunStatus | null;
}

@implementing('StepStarted', 'A model call or tool call began.')
export class StepStartedEvent extends RunEventInterface {
  @Field(() => Int, { description: 'Step position in the run.' })
  stepIndex!: number;

  @Field(() => RunStepType, { description: 'Kind of step.' })
  stepType!: RunStepType;

  @Field(() => String, { nullable: true, description: 'Model called.' })
  model?: string;

  @Field(() => String, { nullable: true, description: 'Tool called.' })
  toolName?: string;
}

@implementing('ReasoningDelta', 'A fragment of the model\'s reasoning.')
export class ReasoningDeltaEvent extends RunEventInterface {
  @Field(() => Int, { description: 'Step the fragment belongs to.' })
  stepIndex!: number;

  @Field({ description: 'Reasoning text fragment.' })
  text!: string;
}

@implementing('TokenDelta', 'A fragment of the answer text.')
export class TokenDeltaEvent extends RunEventInterface {
  @Field(() => Int, { description: 'Step the fragment belongs to.' })
  stepIndex!: number;

  @Field({ description: 'Answer text fragment.' })
  text!: string;
}

@implementing('ToolCallStarted', 'The model began a tool call.')
export class ToolCallStartedEvent extends RunEventInterface {
  @Field(() => Int, { description: 'Model-call step that requested it.' })
  stepIndex!: number;

  @Field({ description: 'Tool call id.' })
  toolCallId!: string;

  @Field({ description: 'Tool name.' })
  name!: string;

  @Field(() => Int, { description: 'Position among the calls of this step.' })
  index!: number;
}

@implementing('ToolCallArgumentsDelta', 'A fragment of a tool call\'s JSON arguments.')
export class ToolCallArgumentsDeltaEvent extends RunEventInterface {
  @Field(() => Int, { description: 'Model-call step.' })
  stepIndex!: number;

  @Field({ description: 'Tool call id.' })
  toolCallId!: string;

  @Field({ description: 'Arguments fragment.' })
  delta!: string;
}

@implementing('ToolCallCompleted', 'A tool call finished (or, for client tools, its arguments are complete).')
export class ToolCallCompletedEvent extends RunEventInterface {
  @Field(() => Int, { description: 'Step.' })
  stepIndex!: number;

  @Field({ description: 'Tool call id.' })
  toolCallId!: string;

  @Field({ description: 'Tool name.' })
  name!: string;

  @Field({ description: 'Complete arguments as JSON text.' })
  arguments!: string;

  @Field(() => String, { nullable: true, description: 'Tool output the model will see; null for client tools awaiting output.' })
  output?: string;

  @Field(() => Boolean, { nullable: true, description: 'True when the output is an error the model will see.' })
  isError?: boolean;
}

@implementing('StepCompleted', 'A step finished.')
export class StepCompletedEvent extends RunEventInterface {
  @Field(() => Int, { description: 'Step.' })
  stepIndex!: number;

  @Field(() => UsageType, { description: 'Tokens and cost of the step (zero for tool calls).' })
  usage!: UsageType;
}

@implementing('MessageCompleted', 'A message was written to the conversation.')
export class MessageCompletedEvent extends RunEventInterface {
  @Field(() => ID, { description: 'The stored message; query it with message(id).' })
  messageId!: string;

  @Field({ description: 'Its role.' })
  role!: string;
}

@implementing('RequiresAction', 'The run paused for client-side tool outputs; answer with submitToolOutputs.')
export class RequiresActionEvent extends RunEventInterface {
  @Field(() => [ToolCallType], { description: 'Calls awaiting outputs.' })
  toolCalls!: ToolCallType[];
}

@implementing('RunCompleted', 'The run ended normally (COMPLETED, or INCOMPLETE at a token or step limit). Last event.')
export class RunCompletedEvent extends RunEventInterface {
  @Field(() => RunStatus, { description: 'COMPLETED or INCOMPLETE.' })
  status!: RunStatus;

  @Field(() => UsageType, { description: 'Total usage of the run.' })
  usage!: UsageType;
}

@implementing('RunFailed', 'The run failed. Last event.')
export class RunFailedEvent extends RunEventInterface {
  @Field(() => RunErrorType, { description: 'What went wrong.' })
  error!: RunErrorType;
}

@implementing('RunCancelled', 'The run was cancelled; any partial answer is kept as an INCOMPLETE message. Last event.')
export class RunCancelledEvent extends RunEventInterface {}

/** Every implementation, so the schema includes them even though fields only name the interface. */
export const RUN_EVENT_TYPES = [
  RunStatusChangedEvent,
  StepStartedEvent,
  ReasoningDeltaEvent,
  TokenDeltaEvent,
  ToolCallStartedEvent,
  ToolCallArgumentsDeltaEvent,
  ToolCallCompletedEvent,
  StepCompletedEvent,
  MessageCompletedEvent,
  RequiresActionEvent,
  RunCompletedEvent,
  RunFailedEvent,
  RunCancelledEvent,
];

/** StepCompleted/RunCompleted carry usage without totalTokens; the API adds it. */
export function toRunEventObject(e: RunEvent): RunEvent {
  if (e.type === 'StepCompleted' || e.type === 'RunCompleted') {
    const usage = e.usage ?? { promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, costUsd: 0 };
    return { ...e, usage: { ...usage, totalTokens: usage.promptTokens + usage.completionTokens } } as unknown as RunEvent;
  }
  return e;
}
