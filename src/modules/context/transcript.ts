import { MessageRole, type ToolCallPart } from '../messages/message.entity';

export interface TranscriptMessage {
  role: MessageRole;
  content: string;
  toolCalls?: readonly ToolCallPart[] | null;
  toolCallId?: string | null;
}

const SPEAKER: Record<MessageRole, string> = {
  [MessageRole.SYSTEM]: 'System',
  [MessageRole.USER]: 'User',
  [MessageRole.ASSISTANT]: 'Assistant',
  [MessageRole.TOOL]: 'Tool result',
};

/**
 * Turns messages into plain text a model reads as a record of what was said,
 * one speaker label per turn, tool calls spelled out with their arguments.
 */
export function formatTranscript(messages: readonly TranscriptMessage[]): string {
  const lines: string[] = [];
  for (const m of messages) {
    const text = m.content.trim();
    if (m.role === MessageRole.TOOL) {
      lines.push(`${SPEAKER.TOOL}${m.toolCallId ? ` (${m.toolCallId})` : ''}: ${text}`);
      continue;
    }
    if (text) lines.push(`${SPEAKER[m.role]}: ${text}`);
    for (const call of m.toolCalls ?? []) {
      lines.push(`${SPEAKER[m.role]} called ${call.name}(${call.arguments}) [${call.id}]`);
    }
  }
  return lines.join('\n\n');
}

/** The system message that carries a context summary to the model. */
export function summaryMessageText(content: string, messageCount: number): string {
  return `Summary of the ${messageCount} earlier message${messageCount === 1 ? '' : 's'} of this conversation, which are not repeated here:\n\n${content}`;
}
