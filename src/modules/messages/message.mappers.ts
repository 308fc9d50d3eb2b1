import type { Message } from './message.entity';
import type { MessageType } from './message.types';
import { toUsage } from '../usage/usage.types';

/** Reads foreign keys without loading the referenced rows. */
const fk = (ref: { id: string } | undefined | null): string | null => ref?.id ?? null;

export const toMessageType = (m: Message): MessageType => ({
  id: m.id,
  role: m.role,
  content: m.content,
  reasoning: m.reasoning ?? null,
  toolCalls: m.toolCalls ?? [],
  toolCallId: m.toolCallId ?? null,
  model: m.model ?? null,
  status: m.status,
  depth: m.depth,
  usage: toUsage(m),
  latencyMs: m.latencyMs ?? null,
  createdAt: m.createdAt,
  pinned: m.pinned,
  excluded: m.excluded,
  conversationId: m.conversation.id,
  parentId: fk(m.parent),
  agentId: fk(m.agent),
  runId: fk(m.run),
});

/** A message as MESSAGE_JSON builds it: MessageType but for created_at, in epoch milliseconds. */
export type MessageJson = Omit<MessageType, 'createdAt'> & { createdAt: number | Date };

/** Finishes a MESSAGE_JSON object in place (its one Date), instead of copying a thousand objects a page. */
export const messageFromJson = (m: MessageJson): MessageType => {
  m.createdAt = new Date(m.createdAt);
  return m as MessageType;
};
