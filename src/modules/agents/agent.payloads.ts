import { Field, ID, ObjectType } from 'type-graphql';
import { AgentType } from './agent.types';

@ObjectType({ description: 'Result of createAgent.' })
export class CreateAgentPayload {
  @Field(() => AgentType, { description: 'The new agent.' })
  agent!: AgentType;
}

@ObjectType({ description: 'Result of updateAgent.' })
export class UpdateAgentPayload {
  @Field(() => AgentType, { description: 'The updated agent.' })
  agent!: AgentType;
}

@ObjectType({ description: 'Result of deleteAgent.' })
export class DeleteAgentPayload {
  @Field(() => ID, { description: 'Id of the deleted agent.' })
  deletedAgentId!: string;
}
