import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { MessageRole, type ToolCallPart } from '../messages/message.entity';

/** The part of a stored message the model sees. */
export interface ContextMessage {
  role: MessageRole;
  content: string;
  toolCalls?: ToolCallPart[] | null;
  toolCallId?: string | null;
}

/**
 * Turns a branch path (root first) into chat messages. The run's system prompt
 * goes first unless the branch already starts with a SYSTEM message of its own.
 */
export function toChatMessages(path: readonly ContextMessage[], systemPrompt?: string | null): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  if (systemPrompt && path[0]?.role !== MessageRole.SYSTEM) out.push({ role: 'system', content: systemPrompt });
  for (const m of path) {
    switch (m.role) {
      case MessageRole.SYSTEM:
        out.push({ role: 'system', content: m.content });
        break;
      case MessageRole.USER:
        out.push({ role: 'user', content: m.content });
        break;
      case MessageRole.ASSISTANT:
        out.push({
          role: 'assistant',
          content: m.content || null,
          ...(m.toolCalls?.length
            ? {
                tool_calls: m.toolCalls.map((c) => ({
                  id: c.id,
                  type: 'function' as const,
                  function: { name: c.name, arguments: c.arguments },
                })),
              }
            : {}),
        });
        break;
      case MessageRole.TOOL:
        out.push({ role: 'tool', tool_call_id: m.toolCallId ?? '', content: m.content });
        break;
    }
  }
  return out;
}
