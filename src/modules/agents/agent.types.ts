import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { ConnectionType } from '../../server/relay';

@ObjectType('Agent', { description: 'A reusable assistant definition: instructions, model and tools.' })
export class AgentType {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'What the agent is for.' })
  description!: string | null;

  @Field(() => String, { nullable: true, description: 'System instructions sent first in every run.' })
  instructions!: string | null;

  @Field({ description: 'Model id as `provider/model`.' })
  model!: string;

  @Field(() => Float, { nullable: true, description: 'Sampling temperature (0–2); provider default when null.' })
  temperature!: number | null;

  @Field(() => [String], { description: 'Names of the tools the agent may call.' })
  tools!: string[];

  @Field(() => Int, { nullable: true, description: 'Execution deadline of this agent\'s runs in milliseconds; the server default (PARLEY_RUN_TIMEOUT_MS) when null.' })
  runTimeoutMs!: number | null;

  @Field(() => Int, { description: 'Incremented on every update.' })
  version!: number;

  @Field({ description: 'Creation time.' })
  createdAt!: Date;

  @Field({ description: 'Last update time.' })
  updatedAt!: Date;
}

export const AgentConnection = ConnectionType('Agent', AgentType, 'A page of agents, newest first.');
