import type { Conversation } from './conversation.entity';
import type { ConversationType } from './conversation.types';
import { ContextStrategy } from '../context/context-planner';

export const toConversationType = (c: Conversation): ConversationType => ({
  id: c.id,
  title: c.title,
  tags: c.tags,
  settings: {
    model: c.settings.model ?? null,
    systemPrompt: c.settings.systemPrompt ?? null,
    temperature: c.settings.temperature ?? null,
    contextStrategy: c.settings.contextStrategy ?? ContextStrategy.SLIDING_WINDOW,
  },
  archivedAt: c.archivedAt ?? null,
  version: c.version,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
  ownerId: c.owner.id,
  agentId: c.agent?.id ?? null,
  activeLeafId: c.activeLeaf?.id ?? null,
});
