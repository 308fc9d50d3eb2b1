import { buildSchema } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { UserResolver } from '../modules/users/user.resolver';
import { AgentResolver } from '../modules/agents/agent.resolver';
import { ConversationResolver } from '../modules/conversations/conversation.resolver';
import { MessageResolver } from '../modules/messages/message.resolver';
import { RunResolver } from '../modules/runs/run.resolver';

export const resolvers = [UserResolver, AgentResolver, ConversationResolver, MessageResolver, RunResolver] as const;

/** Builds the schema from the resolver classes; `scripts/emit-schema.ts` prints it to schema.graphql. */
export function createSchema(): Promise<GraphQLSchema> {
  // Every subscription brings its own `subscribe` (EventBus, run event log); type-graphql
  // still insists on a pubSub, so it gets an idle one.
  return buildSchema({ resolvers: [...resolvers], validate: false, pubSub: createPubSub() });
}
