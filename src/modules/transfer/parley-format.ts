import { z } from 'zod';
import { badInput } from '../../server/errors';
import { LIMITS, requireTags } from '../../server/validate';
import { MessageRole, MessageStatus } from '../messages/message.entity';
import type { Conversation, ConversationSettings } from '../conversations/conversation.entity';
import { ContextStrategy } from '../context/context-planner';
import type { DocNode, NodeProblem } from './import-tree';
import type { ExportRow } from './transfer.sql';
import {
  ID_LENGTH,
  MAX_IMPORT_MESSAGES,
  checkMessages,
  messageProblem,
  parseOrThrow,
  rawNode,
  text,
  type DraftMessage,
  type ImportDraft,
} from './import-draft';

/**
 * The PARLEY format: a whole conversation tree, parents before children, in
 * the shape of the GraphQL Message type. Ids are the source's; an import
 * gives every message a new one and maps parentId and activeLeafId through.
 */
export const PARLEY_VERSION = 1;

export interface ParleyMessage {
  id: string;
  parentId: string | null;
  role: MessageRole;
  content: string;
  reasoning: string | null;
  toolCalls: { id: string; name: string; arguments: string }[];
  toolCallId: string | null;
  model: string | null;
  usage: { promptTokens: number; completionTokens: number; reasoningTokens: number; cachedTokens: number; costUsd: number };
  latencyMs: number | null;
  status: MessageStatus;
  createdAt: string;
  pinned: boolean;
  excluded: boolean;
}

export interface ParleyDocument {
  version: typeof PARLEY_VERSION;
  conversation: { title: string; tags: string[]; settings: ConversationSettings; activeLeafId: string | null };
  messages: ParleyMessage[];
}

/** The document of a conversation; `rows` must already be parents first (ordered by depth, id). */
export function toParleyDocument(conversation: Conversation, rows: readonly ExportRow[]): ParleyDocument {
  const { forkedFrom: _origin, ...settings } = conversation.settings;
  return {
    version: PARLEY_VERSION,
    conversation: { title: conversation.title, tags: conversation.tags, settings, activeLeafId: conversation.activeLeaf?.id ?? null },
    messages: rows.map((m) => ({
      id: m.id,
      parentId: m.parentId,
      role: m.role,
      content: m.content,
      reasoning: m.reasoning,
      toolCalls: (m.toolCalls ?? []).map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })),
      toolCallId: m.toolCallId,
      model: m.model,
      usage: {
        promptTokens: m.promptTokens,
        completionTokens: m.completionTokens,
        reasoningTokens: m.reasoningTokens,
        cachedTokens: m.cachedTokens,
        costUsd: m.costUsd,
      },
      latencyMs: m.latencyMs,
      status: m.status,
      createdAt: new Date(m.createdAt).toISOString(),
      pinned: m.pinned,
      excluded: m.excluded,
    })),
  };
}

const docId = z.string().min(1, 'must not be empty').max(ID_LENGTH, `must be at most ${ID_LENGTH} characters`);
const count = z.number().int().min(0).max(2_147_483_647);

const settingsSchema = z.object({
  model: z.string().min(1).max(LIMITS.model).nullish(),
  systemPrompt: text(LIMITS.systemPrompt).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  contextStrategy: z.nativeEnum(ContextStrategy).nullish(),
});

const documentSchema = z.object({
  version: z.literal(PARLEY_VERSION),
  conversation: z
    .object({
      title: text(LIMITS.title).nullish(),
      tags: z.array(z.string()).max(LIMITS.tags).default([]),
      settings: settingsSchema.default({}),
      activeLeafId: docId.nullish(),
    })
    .default({}),
  messages: z.array(z.unknown()).max(MAX_IMPORT_MESSAGES, `at most ${MAX_IMPORT_MESSAGES} messages per import`),
});

const messageSchema = z
  .object({
    id: docId,
    parentId: docId.nullish(),
    role: z.nativeEnum(MessageRole),
    content: text(LIMITS.content),
    reasoning: text(LIMITS.content).nullish(),
    toolCalls: z
      .array(z.object({ id: docId, name: z.string().min(1).max(ID_LENGTH), arguments: text(LIMITS.content) }))
      .max(LIMITS.toolCalls)
      .nullish(),
    toolCallId: docId.nullish(),
    model: z.string().max(LIMITS.model).nullish(),
    usage: z
      .object({
        promptTokens: count.default(0),
        completionTokens: count.default(0),
        reasoningTokens: count.default(0),
        cachedTokens: count.default(0),
        costUsd: z.number().min(0).max(1e9).default(0),
      })
      .default({}),
    latencyMs: count.nullish(),
    status: z.nativeEnum(MessageStatus).default(MessageStatus.COMPLETE),
    createdAt: z.string().datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).nullish(),
    pinned: z.boolean().default(false),
    excluded: z.boolean().default(false),
  })
  .superRefine((m, ctx) => {
    if (m.role === MessageRole.TOOL && !m.toolCallId) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['toolCallId'], message: 'is required for TOOL messages' });
    }
    if (m.toolCalls?.length && m.role !== MessageRole.ASSISTANT) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['toolCalls'], message: 'only ASSISTANT messages carry tool calls' });
    }
  });

/** Validates a whole PARLEY document before anything is written; the first problem is BAD_USER_INPUT named by its path. */
export function parseParleyDocument(data: unknown): ImportDraft {
  const doc = parseOrThrow(documentSchema, data);
  const tags = requireTags(doc.conversation.tags, 'conversation.tags') ?? [];
  // nodes[i] places message i in the tree; messages holds the parsed ones, which is all of them once checkMessages passes.
  const nodes: DocNode[] = [];
  const messages: DraftMessage[] = [];
  const shapeProblems: NodeProblem[] = [];
  doc.messages.forEach((raw, index) => {
    const parsed = messageProblem(messageSchema, raw, index);
    if (!parsed.ok) {
      shapeProblems.push(parsed.problem);
      nodes.push(rawNode(raw, index));
      return;
    }
    const m = parsed.value;
    const message: DraftMessage = {
      key: m.id,
      parentKey: m.parentId ?? null,
      role: m.role,
      content: m.content,
      reasoning: m.reasoning ?? null,
      toolCalls: m.toolCalls ?? [],
      toolCallId: m.toolCallId ?? null,
      model: m.model ?? null,
      usage: m.usage,
      latencyMs: m.latencyMs ?? null,
      status: m.status,
      createdAt: m.createdAt ? new Date(m.createdAt) : null,
      pinned: m.pinned,
      excluded: m.excluded,
    };
    nodes.push(message);
    messages.push(message);
  });
  const depths = checkMessages(nodes, shapeProblems);
  const activeLeafKey = doc.conversation.activeLeafId ?? null;
  if (activeLeafKey !== null && !messages.some((m) => m.key === activeLeafKey)) {
    throw badInput('conversation.activeLeafId', `is not the id of a message in the document: ${JSON.stringify(activeLeafKey)}`);
  }
  const s = doc.conversation.settings;
  const settings: ConversationSettings = {};
  if (s.model != null) settings.model = s.model;
  if (s.systemPrompt != null) settings.systemPrompt = s.systemPrompt;
  if (s.temperature != null) settings.temperature = s.temperature;
  if (s.contextStrategy != null) settings.contextStrategy = s.contextStrategy;
  const title = doc.conversation.title?.trim() ? doc.conversation.title : null;
  return { title, tags, settings, activeLeafKey, messages, depths };
}
