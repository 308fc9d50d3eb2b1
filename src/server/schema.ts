import { buildSchema } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { BoundedDateTimeISO } from './date-time';
import { UserResolver } from '../modules/users/user.resolver';
import { AgentResolver } from '../modules/agents/agent.resolver';
import { ConversationResolver } from '../modules/conversations/conversation.resolver';
import { MessageResolver } from '../modules/messages/message.resolver';
import { RunResolver } from '../modules/runs/run.resolver';
import { RunCommandsResolver } from '../modules/runs/run-commands.resolver';
import { RUN_EVENT_TYPES } from '../modules/runs/run-event.types';
import { ModelResolver } from '../modules/models/model.resolver';
import { ToolResolver } from '../modules/tools/tool.resolver';
import { ContextResolver, RunContextPlanResolver } from '../modules/context/context.resolver';
import { BRANCH_RESOLVERS } from '../modules/branches/branch.resolver';
import { USAGE_RESOLVERS } from '../modules/usage/usage.resolver';
import { MessageSearchResolver } from '../modules/search/message-search.resolver';
import { TREE_RESOLVERS } from '../modules/tree/tree.resolver';
import { TRANSFER_RESOLVERS } from '../modules/transfer/transfer.resolver';

export const resolvers = [
  UserResolver,
  AgentResolver,
  ConversationResolver,
  MessageResolver,
  RunResolver,
  RunCommandsResolver,
  ModelResolver,
  ToolResolver,
  ContextResolver,
  RunContextPlanResolver,
  ...BRANCH_RESOLVERS,
  ...USAGE_RESOLVERS,
  MessageSearchResolver,
  ...TREE_RESOLVERS,
  ...TRANSFER_RESOLVERS,
] as const;

/** Builds the schema from the resolver classes; `scripts/emit-schema.ts` prints it to schema.graphql. */
export function createSchema(): Promise<GraphQLSchema> {
  // Every subscription brings its own `subscribe` (EventBus, run event log); type-graphql
  // still insists on a pubSub, so it gets an idle one.
  return buildSchema({
    resolvers: [...resolvers],
    orphanedTypes: RUN_EVENT_TYPES,
    validate: false,
    pubSub: createPubSub(),
    scalarsMap: [{ type: Date, scalar: BoundedDateTimeISO }],
  });
}
