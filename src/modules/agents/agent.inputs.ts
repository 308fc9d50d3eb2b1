import { Field, Float, ID, InputType, Int } from 'type-graphql';

@InputType({ description: 'A new agent.' })
export class CreateAgentInput {
  @Field({ description: 'Display name.' })
  name!: string;

  @Field({ nullable: true, description: 'What the agent is for.' })
  description?: string;

  @Field({ nullable: true, description: 'System instructions.' })
  instructions?: string;

  @Field({ description: 'Model id as `provider/model`, e.g. `demo/demo`.' })
  model!: string;

  @Field(() => Float, { nullable: true, description: 'Sampling temperature (0–2).' })
  temperature?: number;

  @Field(() => [String], { nullable: true, description: 'Tool names the agent may call.' })
  tools?: string[];

  @Field(() => Int, { nullable: true, description: 'Execution deadline of this agent\'s runs in milliseconds (1000–86400000); a run\'s own settings.timeoutMs wins. Default: the server\'s PARLEY_RUN_TIMEOUT_MS.' })
  runTimeoutMs?: number;
}

@InputType({ description: 'Changes to an agent; omitted fields stay as they are.' })
export class UpdateAgentInput {
  @Field(() => ID, { description: 'The agent to change.' })
  agentId!: string;

  @Field({ nullable: true, description: 'New name.' })
  name?: string;

  @Field({ nullable: true, description: 'New description.' })
  description?: string;

  @Field({ nullable: true, description: 'New instructions.' })
  instructions?: string;

  @Field({ nullable: true, description: 'New model id.' })
  model?: string;

  @Field(() => Float, { nullable: true, description: 'New temperature.' })
  temperature?: number;

  @Field(() => [String], { nullable: true, description: 'New tool list (replaces the old one).' })
  tools?: string[];

  @Field(() => Int, { nullable: true, description: 'New execution deadline of this agent\'s runs in milliseconds (1000–86400000).' })
  runTimeoutMs?: number;
}

@InputType({ description: 'Which agent to delete.' })
export class DeleteAgentInput {
  @Field(() => ID, { description: 'The agent to delete.' })
  agentId!: string;
}
