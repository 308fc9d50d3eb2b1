import { z } from 'zod';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { LIMITS } from '../../server/validate';
import { MessageRole, MessageStatus } from '../messages/message.entity';
import { toChatMessages } from '../runs/run-context';
import { ZERO_USAGE } from '../usage/usage.types';
import type { DocNode, NodeProblem } from './import-tree';
import type { ExportRow } from './transfer.sql';
import { ID_LENGTH, MAX_IMPORT_MESSAGES, checkMessages, messageProblem, parseOrThrow, text, type DraftMessage, type ImportDraft } from './import-draft';

/**
 * The OPENAI_MESSAGES format: one branch as the `messages` array of an OpenAI
 * chat completion request. Exported exactly as a run would send it (tool calls
 * no TOOL message answers are left out, as the API demands); usage, model,
 * reasoning and the pinned/excluded flags have no place in it.
 */
export const toOpenAIMessages = (path: readonly ExportRow[]): ChatCompletionMessageParam[] => toChatMessages(path);

const ROLES = {
  system: MessageRole.SYSTEM,
  developer: MessageRole.SYSTEM,
  user: MessageRole.USER,
  assistant: MessageRole.ASSISTANT,
  tool: MessageRole.TOOL,
} as const;

const roleNames = Object.keys(ROLES) as [keyof typeof ROLES, ...(keyof typeof ROLES)[]];

const textPart = z.object({ type: z.literal('text'), text: z.string() });

const messageSchema = z
  .object({
    role: z.enum(roleNames),
    // A string, null (an assistant turn that only calls tools), or text parts; other parts (images, audio) are not imported.
    content: z.union([z.string(), z.null(), z.array(textPart)]).optional(),
    tool_calls: z
      .array(
        z.object({
          id: z.string().min(1).max(ID_LENGTH),
          type: z.literal('function').optional(),
          function: z.object({ name: z.string().min(1).max(ID_LENGTH), arguments: text(LIMITS.content) }),
        }),
      )
      .max(LIMITS.toolCalls)
      .optional(),
    tool_call_id: z.string().min(1).max(ID_LENGTH).optional(),
  })
  .transform((m) => ({ ...m, content: Array.isArray(m.content) ? m.content.map((p) => p.text).join('') : (m.content ?? '') }))
  .superRefine((m, ctx) => {
    const content = text(LIMITS.content).safeParse(m.content);
    if (!content.success) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['content'], message: content.error.issues[0].message });
    if (m.role === 'tool' && !m.tool_call_id) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tool_call_id'], message: 'is required for tool messages' });
    }
    if (m.tool_calls?.length && m.role !== 'assistant') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tool_calls'], message: 'only assistant messages carry tool calls' });
    }
  });

const listSchema = z.array(z.unknown()).max(MAX_IMPORT_MESSAGES, `at most ${MAX_IMPORT_MESSAGES} messages per import`);

/**
 * Validates an OpenAI `messages` array (or an object holding one under
 * `messages`, like a request body) before anything is written. Errors name
 * `messages[i]…` either way. The messages become one branch, each the reply
 * to the one before, and the last one the active leaf.
 */
export function parseOpenAIMessages(data: unknown): ImportDraft {
  const holder = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as { messages?: unknown }) : undefined;
  const list = parseOrThrow(listSchema, holder ? holder.messages : data, holder ? ['messages'] : []);
  // nodes[i] places message i in the tree; messages holds the parsed ones, which is all of them once checkMessages passes.
  const nodes: DocNode[] = [];
  const messages: DraftMessage[] = [];
  const shapeProblems: NodeProblem[] = [];
  list.forEach((raw, index) => {
    const node = { key: String(index), parentKey: index === 0 ? null : String(index - 1) };
    const parsed = messageProblem(messageSchema, raw, index);
    if (!parsed.ok) {
      shapeProblems.push(parsed.problem);
      nodes.push(node);
      return;
    }
    const m = parsed.value;
    const message: DraftMessage = {
      ...node,
      role: ROLES[m.role],
      content: m.content,
      reasoning: null,
      toolCalls: (m.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
      toolCallId: m.tool_call_id ?? null,
      model: null,
      usage: ZERO_USAGE,
      latencyMs: null,
      status: MessageStatus.COMPLETE,
      createdAt: null,
      pinned: false,
      excluded: false,
    };
    nodes.push(message);
    messages.push(message);
  });
  const depths = checkMessages(nodes, shapeProblems);
  return { title: null, tags: [], settings: {}, activeLeafKey: null, messages, depths };
}
