import type { EntityManager } from '@mikro-orm/postgresql';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { pgUuidArray } from '../../db/sql';
import type { ModelInfo } from '../models/model-catalog';
import { ProviderError, type ChatToolSpec } from '../providers/provider.types';
import { loadPath } from '../messages/message-tree.sql';
import type { Message } from '../messages/message.entity';
import { toChatMessages } from '../runs/run-context';
import { ContextSummary } from './context-summary.entity';
import {
  ContextItemKind,
  ContextStrategy,
  planContext,
  type ContextPlan,
  type PlanInput,
  type PlanMessage,
  type PlanSummary,
  type SummaryRequest,
} from './context-planner';
import type { ContextSummarizer } from './summarizer';
import { countMessageTokens, countToolTokens, tokenCounterFor, type TokenCounter } from './tokenizer';
import { summaryMessageText } from './transcript';

export interface BuildContextOptions {
  conversation: { id: string };
  /** The branch tip the model continues from; none means an empty branch. */
  tipId?: string | null;
  /** The path to `tipId`, root first, when the caller has already read it. */
  path?: readonly Message[];
  modelInfo: ModelInfo;
  systemPrompt?: string | null;
  strategy?: ContextStrategy;
  /** Without one, SUMMARIZE and HYBRID neither read nor write summaries: older turns are dropped as by SLIDING_WINDOW. */
  summarizer?: ContextSummarizer;
  /** The run's own output limit (maxTokens), if it set one. */
  maxOutputTokens?: number;
  tools?: readonly ChatToolSpec[];
  signal?: AbortSignal;
}

/** The plan as stored in `runs.context_plan` and returned by previewContext. */
export interface ModelContextPlan extends ContextPlan {
  model: string;
  /** Why a needed summary could not be written; the turns it would have covered were dropped instead. */
  summaryError: string | null;
}

export interface ModelContext {
  messages: ChatCompletionMessageParam[];
  plan: ModelContextPlan;
}

/**
 * Output tokens kept free in the window: the run's maxTokens (at most half the
 * window), else the model's output limit (at most a quarter of the window, since
 * models with huge output limits rarely use them and the prompt needs the room).
 */
export function reservedOutputTokens(info: Pick<ModelInfo, 'contextWindow' | 'maxOutputTokens'>, requested?: number): number {
  if (requested) return Math.min(requested, Math.floor(info.contextWindow / 2));
  return Math.min(info.maxOutputTokens, Math.floor(info.contextWindow / 4));
}

/**
 * What a model is sent for a branch: the path loaded in one statement, counted
 * with the model's tokenizer, cut by the strategy, and (for SUMMARIZE/HYBRID)
 * at most one summarizer call, whose summary is stored and reused afterwards.
 */
export async function buildModelContext(em: EntityManager, opts: BuildContextOptions): Promise<ModelContext> {
  const { modelInfo, summarizer } = opts;
  const counter = tokenCounterFor(modelInfo.upstreamModel);
  const path = opts.path ?? (opts.tipId ? await loadPath(em, opts.tipId) : []);
  const strategy = opts.strategy ?? ContextStrategy.SLIDING_WINDOW;
  const systemPrompt = opts.systemPrompt || null;
  const planPath: PlanMessage[] = path.map((m) => ({
    id: m.id,
    role: m.role,
    content: m.content,
    toolCalls: m.toolCalls,
    toolCallId: m.toolCallId,
    pinned: m.pinned,
    excluded: m.excluded,
    tokens: storedMessageTokens(counter, m),
  }));
  const summarizes = strategy === ContextStrategy.SUMMARIZE || strategy === ContextStrategy.HYBRID;
  const input: PlanInput = {
    path: planPath,
    systemPrompt: systemPrompt ? { tokens: countMessageTokens(counter, { content: systemPrompt }) } : null,
    contextWindow: modelInfo.contextWindow,
    reservedOutputTokens: reservedOutputTokens(modelInfo, opts.maxOutputTokens),
    toolTokens: opts.tools?.length ? countToolTokens(counter, opts.tools) : 0,
    strategy,
    summary: summarizes && summarizer && path.length ? await storedSummary(em, planPath, summarizer.model, counter) : null,
    allowNewSummary: Boolean(summarizer),
  };
  let outcome = planContext(input);
  let summaryError: string | null = null;
  if (outcome.summarize) {
    let written: PlanSummary | null = null;
    try {
      written = await writeSummary(em, opts, outcome.summarize, counter);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      // A provider's own text can carry secrets: users read its sanitized form.
      summaryError = err instanceof ProviderError ? err.userMessage : (err as Error).message;
    }
    outcome = planContext({ ...input, summary: written ?? input.summary, allowNewSummary: false });
  }
  const plan = outcome.plan!;
  return { messages: toMessages(plan, path, systemPrompt), plan: { ...plan, model: modelInfo.id, summaryError } };
}

/** Per counter, tokens of stored messages by id and version: bounded, oldest entries evicted first. */
const messageTokenCache = new WeakMap<TokenCounter, Map<string, number>>();
const MESSAGE_TOKEN_CACHE_SIZE = 100_000;

/**
 * Each stored message is counted once per tokenizer and version (an in-place
 * edit moves updated_at), so a long branch is not re-encoded at every model step.
 */
function storedMessageTokens(counter: TokenCounter, m: Message): number {
  let cache = messageTokenCache.get(counter);
  if (!cache) messageTokenCache.set(counter, (cache = new Map()));
  const key = `${m.id}@${m.updatedAt.getTime()}`;
  let n = cache.get(key);
  if (n === undefined) {
    n = countMessageTokens(counter, m);
    if (cache.size >= MESSAGE_TOKEN_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(key, n);
  }
  return n;
}

/** The deepest summary by this summarizer whose through-message lies on the branch, in one statement. */
async function storedSummary(em: EntityManager, path: PlanMessage[], model: string, counter: TokenCounter): Promise<PlanSummary | null> {
  const rows = await em.getConnection().execute<{ through_message_id: string; content: string; message_count: number }[]>(
    `select through_message_id, content, message_count from context_summaries
      where through_message_id = any(?::uuid[]) and model = ?`,
    [pgUuidArray(path.map((m) => m.id)), model],
    'all',
    em.getTransactionContext(),
  );
  if (!rows.length) return null;
  const depth = new Map(path.map((m, i) => [m.id, i]));
  const deepest = rows.reduce((a, b) => (depth.get(b.through_message_id)! > depth.get(a.through_message_id)! ? b : a));
  return toPlanSummary(deepest.through_message_id, deepest.content, deepest.message_count, counter);
}

const toPlanSummary = (throughMessageId: string, content: string, messageCount: number, counter: TokenCounter): PlanSummary => ({
  throughMessageId,
  content,
  messageCount,
  tokens: countMessageTokens(counter, { content: summaryMessageText(content, messageCount) }),
});

/**
 * Asks the summarizer once and stores the result. The advisory lock makes the
 * check-and-insert atomic, so concurrent runs keep one row per prefix and model.
 */
async function writeSummary(em: EntityManager, opts: BuildContextOptions, req: SummaryRequest, counter: TokenCounter): Promise<PlanSummary> {
  const summarizer = opts.summarizer!;
  const key = `${req.throughMessageId}:${summarizer.model}`;
  const frame = countMessageTokens(counter, { content: summaryMessageText('', req.messageCount) });
  const room = Math.max(1, req.maxTokens - frame);
  const text = await summarizer.summarize({ previous: req.previous?.content, messages: req.messages, maxTokens: room, signal: opts.signal }, key);
  const content = counter.truncate(text, room);
  const row = await em.transactional(async (tx) => {
    await tx.getConnection().execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [key], 'all', tx.getTransactionContext());
    const found = await tx.findOne(ContextSummary, { throughMessage: req.throughMessageId, model: summarizer.model });
    if (found) return found;
    const created = tx.create(ContextSummary, {
      conversation: opts.conversation.id,
      throughMessage: req.throughMessageId,
      model: summarizer.model,
      content,
      tokenCount: countMessageTokens(counter, { content: summaryMessageText(content, req.messageCount) }),
      messageCount: req.messageCount,
    });
    await tx.flush();
    return created;
  });
  return toPlanSummary(req.throughMessageId, row.content, row.messageCount, counter);
}

/** Chat messages in plan order; the branch's own messages go through toChatMessages. */
function toMessages(plan: ContextPlan, path: readonly Message[], systemPrompt: string | null): ChatCompletionMessageParam[] {
  const byId = new Map(path.map((m) => [m.id, m]));
  const head: ChatCompletionMessageParam[] = [];
  const kept: Message[] = [];
  for (const item of plan.items) {
    if (item.kind === ContextItemKind.SYSTEM_PROMPT) {
      if (item.messageId) head.push(...toChatMessages([byId.get(item.messageId)!]));
      else head.push({ role: 'system', content: systemPrompt! });
    } else if (item.kind === ContextItemKind.SUMMARY) {
      head.push({ role: 'system', content: summaryMessageText(plan.summary!.content, plan.summary!.messageCount) });
    } else {
      kept.push(byId.get(item.messageId!)!);
    }
  }
  return [...head, ...toChatMessages(kept)];
}
