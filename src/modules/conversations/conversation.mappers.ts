import type { Conversation, ConversationSettings } from './conversation.entity';
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

/** A conversations row as plain reads select it (`c.*`): snake_case, timestamps as Postgres text. */
export interface ConversationRecord {
  id: string;
  title: string;
  tags: string[];
  settings: ConversationSettings | null;
  archived_at: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  owner_id: string;
  agent_id: string | null;
  active_leaf_id: string | null;
}

/** A plain row straight to the GraphQL type: no entity, no identity map. */
export const conversationFromRow = (r: ConversationRecord): ConversationType => {
  const settings = r.settings ?? {};
  return {
    id: r.id,
    title: r.title,
    tags: r.tags,
    settings: {
      model: settings.model ?? null,
      systemPrompt: settings.systemPrompt ?? null,
      temperature: settings.temperature ?? null,
      contextStrategy: settings.contextStrategy ?? ContextStrategy.SLIDING_WINDOW,
    },
    archivedAt: r.archived_at === null ? null : new Date(r.archived_at),
    version: r.version,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    ownerId: r.owner_id,
    agentId: r.agent_id,
    activeLeafId: r.active_leaf_id,
  };
};
