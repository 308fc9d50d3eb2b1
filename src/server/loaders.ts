import type { EntityManager } from '@mikro-orm/postgresql';
import { createConversationLoaders } from '../modules/conversations/conversation.loaders';
import { createMessageLoaders } from '../modules/messages/message.loaders';
import { createRunLoaders } from '../modules/runs/run.loaders';
import { createUsageLoaders } from '../modules/usage/usage.loaders';

/** Request-scoped DataLoaders: one set per request, so caches never leak across viewers. */
export function createLoaders(em: EntityManager) {
  return {
    ...createConversationLoaders(em),
    ...createMessageLoaders(em),
    ...createRunLoaders(em),
    ...createUsageLoaders(em),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
