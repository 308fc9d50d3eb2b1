import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';

@InputType('ClientToolInput', { description: 'A tool the client runs itself: the run pauses in REQUIRES_ACTION when the model calls it.' })
export class ClientToolInput {
  @Field({ description: 'Tool name (letters, digits, _ and -).' })
  name!: string;

  @Field({ description: 'What the tool does, for the model.' })
  description!: string;

  @Field(() => GraphQLJSONObject, { description: 'JSON Schema of the arguments.' })
  parameters!: Record<string, unknown>;
}

@InputType('RunSettingsInput', { description: 'Per-run overrides.' })
export class RunSettingsInput {
  @Field(() => Float, { nullable: true, description: 'Sampling temperature (0–2).' })
  temperature?: number;

  @Field(() => Int, { nullable: true, description: 'Output token limit per model call; hitting it ends the run INCOMPLETE.' })
  maxTokens?: number;

  @Field(() => Int, { nullable: true, description: 'Maximum steps (model calls + tool calls); hitting it ends the run INCOMPLETE.' })
  maxSteps?: number;

  @Field(() => [String], { nullable: true, description: 'Server tools the model may call (default: the agent\'s tools).' })
  tools?: string[];

  @Field(() => [ClientToolInput], { nullable: true, description: 'Client-side tools.' })
  clientTools?: ClientToolInput[];

  @Field(() => Int, {
    nullable: true,
    description:
      'Execution deadline in milliseconds (1000–86400000), counted from each time a worker takes the run up; past it the run ends FAILED (RUN_TIMEOUT), keeping its partial answer. Default: the agent\'s runTimeoutMs, then the server\'s PARLEY_RUN_TIMEOUT_MS.',
  })
  timeoutMs?: number;
}

@InputType({ description: 'A user message and the run that answers it.' })
export class SendMessageInput {
  @Field(() => ID, { description: 'The conversation.' })
  conversationId!: string;

  @Field(() => ID, { nullable: true, description: 'Parent of the new message; the active leaf by default.' })
  parentId?: string;

  @Field({ description: 'The user\'s text.' })
  content!: string;

  @Field({ nullable: true, description: 'Model as provider/model (default: agent, then conversation setting, then server default).' })
  model?: string;

  @Field(() => ID, { nullable: true, description: 'Agent to answer with (default: the conversation\'s agent).' })
  agentId?: string;

  @Field(() => RunSettingsInput, { nullable: true, description: 'Per-run overrides.' })
  settings?: RunSettingsInput;
}

@InputType({ description: 'A run answering an existing message.' })
export class StartRunInput {
  @Field(() => ID, { description: 'The conversation.' })
  conversationId!: string;

  @Field(() => ID, { nullable: true, description: 'Message to answer; the active leaf by default.' })
  messageId?: string;

  @Field({ nullable: true, description: 'Model as provider/model.' })
  model?: string;

  @Field(() => ID, { nullable: true, description: 'Agent to answer with.' })
  agentId?: string;

  @Field(() => RunSettingsInput, { nullable: true, description: 'Per-run overrides.' })
  settings?: RunSettingsInput;
}

@InputType({ description: 'Which run to cancel.' })
export class CancelRunInput {
  @Field(() => ID, { description: 'The run.' })
  runId!: string;
}

@InputType('ToolOutputInput', { description: 'The output of one client-side tool call.' })
export class ToolOutputInput {
  @Field({ description: 'The call answered.' })
  toolCallId!: string;

  @Field({ description: 'Output text the model will see (JSON text is fine).' })
  output!: string;
}

@InputType({ description: 'Outputs for every pending client-side tool call of a run.' })
export class SubmitToolOutputsInput {
  @Field(() => ID, { description: 'The run in REQUIRES_ACTION.' })
  runId!: string;

  @Field(() => [ToolOutputInput], { description: 'One output per pending call.' })
  toolOutputs!: ToolOutputInput[];
}
