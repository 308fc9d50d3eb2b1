import { z } from 'zod';
import { badInput } from '../../server/errors';
import { MessageRole, type MessageStatus, type ToolCallPart } from '../messages/message.entity';
import type { ConversationSettings } from '../conversations/conversation.entity';
import type { UsageColumns } from '../usage/usage.types';
import { checkTree, fieldPath, type DocNode, type NodeProblem } from './import-tree';

/**
 * What either import format becomes once validated: a conversation and its
 * messages in the document's own id space, with the depth of every message.
 * Nothing here has touched the database.
 */
export interface DraftMessage extends DocNode {
  role: MessageRole;
  content: string;
  reasoning: string | null;
  toolCalls: ToolCallPart[];
  toolCallId: string | null;
  model: string | null;
  usage: UsageColumns;
  latencyMs: number | null;
  status: MessageStatus;
  createdAt: Date | null;
  pinned: boolean;
  excluded: boolean;
}

export interface ImportDraft {
  title: string | null;
  tags: string[];
  settings: ConversationSettings;
  /** Key of the message to make active; null: the last message of the document. */
  activeLeafKey: string | null;
  messages: DraftMessage[];
  depths: number[];
}

/** Upper bound on one import; the 5 MB request body usually ends it sooner. */
export const MAX_IMPORT_MESSAGES = 10_000;

export const ID_LENGTH = 200;

/** Text a Postgres text column can hold: bounded, and without NUL characters. */
export const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

/** Messages that read as sentences after a field path: `messages[3].content: is required`. */
export const errorMap: z.ZodErrorMap = (issue, ctx) => {
  if (issue.code === z.ZodIssueCode.invalid_type) {
    return { message: issue.received === 'undefined' ? 'is required' : `must be ${issue.expected}, not ${issue.received}` };
  }
  if (issue.code === z.ZodIssueCode.invalid_enum_value) {
    return { message: `unknown value ${JSON.stringify(issue.received)} (expected ${issue.options.join(', ')})` };
  }
  if (issue.code === z.ZodIssueCode.invalid_literal) return { message: `must be ${JSON.stringify(issue.expected)}` };
  if (issue.code === z.ZodIssueCode.unrecognized_keys) return { message: `unknown keys ${issue.keys.join(', ')}` };
  return { message: ctx.defaultError };
};

/** Parses with the sentence error map; the first issue becomes BAD_USER_INPUT named by its path under `prefix`. */
export function parseOrThrow<S extends z.ZodTypeAny>(schema: S, data: unknown, prefix: (string | number)[] = []): z.output<S> {
  const parsed = schema.safeParse(data, { errorMap });
  if (parsed.success) return parsed.data as z.output<S>;
  const issue = parsed.error.issues[0];
  throw badInput(fieldPath([...prefix, ...issue.path]) || 'data', issue.message);
}

/** The first issue of one message, as a problem of that node. */
export function messageProblem<S extends z.ZodTypeAny>(
  schema: S,
  raw: unknown,
  index: number,
): { ok: true; value: z.output<S> } | { ok: false; problem: NodeProblem } {
  const parsed = schema.safeParse(raw, { errorMap });
  if (parsed.success) return { ok: true, value: parsed.data as z.output<S> };
  const issue = parsed.error.issues[0];
  return { ok: false, problem: { index, field: fieldPath(issue.path), message: issue.message } };
}

const problemError = (p: NodeProblem) => badInput(fieldPath(['messages', p.index, ...(p.field ? [p.field] : [])]), p.message);

/**
 * Names the first bad message in document order, from the problems found
 * message by message and those of the tree as a whole (a shape problem of a
 * message wins over a tree problem of the same message). Messages that failed
 * their shape check take part in the tree with whatever id and parent they
 * have, so links to them are not reported as unknown. Returns the depths.
 */
export function checkMessages(nodes: readonly (DocNode | DraftMessage)[], shapeProblems: readonly NodeProblem[]): number[] {
  const tree = checkTree(nodes);
  const candidates = [...shapeProblems, ...('problem' in tree ? [tree.problem] : [])];
  if (candidates.length) throw problemError(candidates.reduce((a, b) => (b.index < a.index ? b : a)));
  // Only a sound tree can be walked up; every node is a parsed message by now.
  const unanswered = unansweredToolResult(nodes as readonly DraftMessage[]);
  if (unanswered) throw problemError(unanswered);
  return (tree as { depths: number[] }).depths;
}

/**
 * The first TOOL message that answers no call of the ASSISTANT message it
 * follows (past the other answers of the same turn). Such a branch could
 * never be sent to a model again: the chat completions API refuses a tool
 * message that does not answer a preceding tool call.
 */
export function unansweredToolResult(messages: readonly DraftMessage[]): NodeProblem | undefined {
  const byKey = new Map(messages.map((m) => [m.key, m]));
  const parentOf = (m: DraftMessage) => (m.parentKey === null ? undefined : byKey.get(m.parentKey));
  for (let index = 0; index < messages.length; index++) {
    const m = messages[index];
    if (m.role !== MessageRole.TOOL) continue;
    let turn = parentOf(m);
    while (turn?.role === MessageRole.TOOL) turn = parentOf(turn);
    if (turn?.role === MessageRole.ASSISTANT && turn.toolCalls.some((c) => c.id === m.toolCallId)) continue;
    return { index, field: 'toolCallId', message: `answers no tool call of the assistant message before it: ${JSON.stringify(m.toolCallId)}` };
  }
  return undefined;
}

/** Id and parent of a message that failed its shape check, as far as they can be read. */
export function rawNode(raw: unknown, index: number): DocNode {
  const { id, parentId: parent } = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  return { key: typeof id === 'string' ? id : `\u0000unparsed ${index}`, parentKey: typeof parent === 'string' ? parent : null };
}
