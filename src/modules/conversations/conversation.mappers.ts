import type { Conversation } from './conversation.entity';
import type { ConversationType } from './conversation.types';

export const toConversationType = (c: Conversation): ConversationType => ({
  id: c.id,
  title: c.title,
  tags: c.tags,
  settings: {
    model: c.settings.model ?? null,
    systemPrompt: c.settings.systemPrompt ?? null,
    temperature: c.settings.temperature ?? null,
  },
  archivedAt: c.archivedAt ?? null,
  version: c.version,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
  ownerId: c.owner.id,
  agentId: c.agent?.id ?? null,
  activeLeafId: c.activeLeaf?.id ?? null,
});
