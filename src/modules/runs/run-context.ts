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
  for (const [i, m] of path.entries()) {
    switch (m.role) {
      case MessageRole.SYSTEM:
        out.push({ role: 'system', content: m.content });
        break;
      case MessageRole.USER:
        out.push({ role: 'user', content: m.content });
        break;
      case MessageRole.ASSISTANT: {
        const calls = answeredCalls(path, i);
        out.push({
          role: 'assistant',
          content: m.content || (calls.length ? null : ''),
          ...(calls.length
            ? {
                tool_calls: calls.map((c) => ({
                  id: c.id,
                  type: 'function' as const,
                  function: { name: c.name, arguments: c.arguments },
                })),
              }
            : {}),
        });
        break;
      }
      case MessageRole.TOOL:
        out.push({ role: 'tool', tool_call_id: m.toolCallId ?? '', content: m.content });
        break;
    }
  }
  return out;
}

/**
 * The tool calls of the assistant message at `index` that the TOOL messages right
 * after it answer. Chat APIs reject an assistant turn whose tool_calls are not all
 * answered, and a branch can hold such a turn: a paused run cancelled before its
 * client tools answered, or a run cancelled between two of its tool steps.
 */
function answeredCalls(path: readonly ContextMessage[], index: number): ToolCallPart[] {
  const calls = path[index].toolCalls ?? [];
  if (!calls.length) return [];
  const answered = new Set<string>();
  for (let j = index + 1; j < path.length && path[j].role === MessageRole.TOOL; j++) {
    if (path[j].toolCallId) answered.add(path[j].toolCallId!);
  }
  return calls.filter((c) => answered.has(c.id));
}
