import { MessageRole, type ToolCallPart } from '../messages/message.entity';
import { ContextBudgetError, ContextErrorCode } from './context.errors';
import { REPLY_PRIMING } from './tokenizer';

/** How a branch too long for the model's window is cut down. */
export enum ContextStrategy {
  /** The system prompt and the most recent turns that fit; the oldest go first. */
  SLIDING_WINDOW = 'SLIDING_WINDOW',
  /** Older turns that do not fit become one summary message, written once and reused. */
  SUMMARIZE = 'SUMMARIZE',
  /** Pinned messages always, then the most recent turns that fit. */
  PINNED_FIRST = 'PINNED_FIRST',
  /** Pinned messages verbatim, one summary of the older part that does not fit, and the recent turns. */
  HYBRID = 'HYBRID',
}

export enum DropReason {
  EXCLUDED = 'EXCLUDED',
  WINDOW = 'WINDOW',
  SUMMARIZED = 'SUMMARIZED',
}

export enum ContextItemKind {
  SYSTEM_PROMPT = 'SYSTEM_PROMPT',
  SUMMARY = 'SUMMARY',
  MESSAGE = 'MESSAGE',
}

/** A message of the branch as the planner sees it; `tokens` already includes the per-message overhead. */
export interface PlanMessage {
  id: string;
  role: MessageRole;
  content: string;
  toolCalls?: readonly ToolCallPart[] | null;
  toolCallId?: string | null;
  pinned: boolean;
  excluded: boolean;
  tokens: number;
}

/** A summary of the branch from its root through `throughMessageId`; `tokens` is what its message costs. */
export interface PlanSummary {
  throughMessageId: string;
  content: string;
  tokens: number;
  messageCount: number;
}

export interface PlanInput {
  /** The branch, root first. */
  path: readonly PlanMessage[];
  /** Sent first unless the branch starts with a SYSTEM message of its own (which then takes its place). */
  systemPrompt?: { tokens: number } | null;
  contextWindow: number;
  reservedOutputTokens: number;
  /** Tokens of the tool definitions sent with the messages. */
  toolTokens?: number;
  strategy: ContextStrategy;
  /** The deepest stored summary whose through-message is on this branch, if any. */
  summary?: PlanSummary | null;
  /** false: never ask for a new summary (one was just written, or it could not be). Default true. */
  allowNewSummary?: boolean;
}

export interface ContextItem {
  kind: ContextItemKind;
  /** The message sent; null for a system prompt from settings and for the summary. */
  messageId: string | null;
  role: MessageRole;
  tokens: number;
}

export interface DroppedItem {
  messageId: string;
  tokens: number;
  reason: DropReason;
}

export interface ContextPlan {
  strategy: ContextStrategy;
  contextWindow: number;
  reservedOutputTokens: number;
  toolTokens: number;
  /** Tokens the prompt may use: the window minus the reserved output. */
  budgetTokens: number;
  /** Tokens the prompt uses: items, tool definitions and reply priming. */
  usedTokens: number;
  items: ContextItem[];
  dropped: DroppedItem[];
  summary: PlanSummary | null;
}

/** Asks the caller for a summary of the branch through `throughMessageId`, then to plan again with it. */
export interface SummaryRequest {
  throughMessageId: string;
  /** A stored summary of an earlier prefix to extend, or null to summarize from the root. */
  previous: PlanSummary | null;
  /** The turns to fold in (after `previous`), oldest first. */
  messages: PlanMessage[];
  /** Messages the new summary stands for, the previous summary's included. */
  messageCount: number;
  /** Tokens the summary message may cost, overhead included. */
  maxTokens: number;
}

export type PlanOutcome = { plan: ContextPlan; summarize?: undefined } | { summarize: SummaryRequest; plan?: undefined };

/** Summaries never take more than this, nor more than a third of the room left for messages. */
export const MAX_SUMMARY_TOKENS = 1024;
const SUMMARY_SHARE = 1 / 3;
/** Below this a summary says nothing useful: the strategy falls back to the sliding window. */
export const MIN_SUMMARY_TOKENS = 32;

/**
 * Messages that travel together: an assistant message with tool calls and the
 * TOOL results after it (chat APIs reject one without the other), or one message.
 */
interface Unit {
  first: number;
  messages: PlanMessage[];
  tokens: number;
  pinned: boolean;
}

type Dropped = DroppedItem & { at: number };

function toUnits(path: readonly PlanMessage[], dropped: Dropped[]): Unit[] {
  const units: Unit[] = [];
  for (let i = 0; i < path.length; ) {
    const head = path[i];
    let end = i + 1;
    if (head.role === MessageRole.ASSISTANT && head.toolCalls?.length) {
      while (end < path.length && path[end].role === MessageRole.TOOL) end++;
    }
    const kept: PlanMessage[] = [];
    for (let j = i; j < end; j++) {
      // Results of an excluded call cannot be sent without it: they go with it.
      if (path[j].excluded || head.excluded) dropped.push({ messageId: path[j].id, tokens: path[j].tokens, reason: DropReason.EXCLUDED, at: j });
      else kept.push(path[j]);
    }
    if (kept.length) units.push({ first: i, messages: kept, tokens: sum(kept), pinned: kept.some((m) => m.pinned) });
    i = end;
  }
  return units;
}

const sum = (xs: readonly { tokens: number }[]): number => xs.reduce((n, x) => n + x.tokens, 0);

/** The newest units that fit in `room`, contiguously: a gap would leave turns that answer nothing. */
function recent(units: readonly Unit[], room: number): Unit[] {
  const taken: Unit[] = [];
  for (let i = units.length - 1; i >= 0 && units[i].tokens <= room; i--) {
    room -= units[i].tokens;
    taken.unshift(units[i]);
  }
  return taken;
}

/**
 * Decides what of a branch is sent to the model. Summaries always cover a whole
 * prefix of the branch (excluded messages aside), so a stored one is valid for
 * any strategy and any later branch through its last message. Pure: token counts come in,
 * and when a new summary is needed the caller is asked for it (`summarize`),
 * writes it, and plans again with it and `allowNewSummary: false`.
 */
export function planContext(input: PlanInput): PlanOutcome {
  const { path, strategy } = input;
  const position = new Map(path.map((m, i) => [m, i]));
  const at = (m: PlanMessage) => position.get(m)!;
  const dropped: Dropped[] = [];
  const units = toUnits(path, dropped);
  const toolTokens = input.toolTokens ?? 0;
  const budgetTokens = input.contextWindow - input.reservedOutputTokens;
  let room = budgetTokens - toolTokens - REPLY_PRIMING;
  if (room <= 0) {
    throw new ContextBudgetError(ContextErrorCode.NO_ROOM, `tool definitions and the reserved output leave no room for messages in this model's ${input.contextWindow}-token window`, toolTokens + REPLY_PRIMING, budgetTokens);
  }

  const rootSystem = units[0]?.messages[0] === path[0] && path[0]?.role === MessageRole.SYSTEM && units[0].messages.length === 1 ? units.shift() : undefined;
  const system: ContextItem | undefined = rootSystem
    ? { kind: ContextItemKind.SYSTEM_PROMPT, messageId: rootSystem.messages[0].id, role: MessageRole.SYSTEM, tokens: rootSystem.tokens }
    : input.systemPrompt
      ? { kind: ContextItemKind.SYSTEM_PROMPT, messageId: null, role: MessageRole.SYSTEM, tokens: input.systemPrompt.tokens }
      : undefined;
  if (system && system.tokens > room) {
    throw new ContextBudgetError(ContextErrorCode.SYSTEM_PROMPT_TOO_LARGE, `the system prompt alone takes ${system.tokens} tokens, more than the ${room} this model's window leaves for the prompt`, system.tokens, budgetTokens);
  }
  room -= system?.tokens ?? 0;

  const keep = new Set<Unit>();
  const latest = units.at(-1);
  if (latest) {
    if (latest.tokens > room) {
      throw new ContextBudgetError(ContextErrorCode.LATEST_MESSAGE_TOO_LARGE, `the latest message takes ${latest.tokens} tokens; only ${room} fit beside the system prompt`, latest.tokens, budgetTokens);
    }
    keep.add(latest);
    room -= latest.tokens;
  }
  if (strategy === ContextStrategy.PINNED_FIRST || strategy === ContextStrategy.HYBRID) {
    const pinned = units.filter((u) => u.pinned && u !== latest);
    if (sum(pinned) > room) {
      throw new ContextBudgetError(ContextErrorCode.PINNED_TOO_LARGE, `pinned messages take ${sum(pinned)} tokens; only ${room} fit beside the system prompt and the latest message, unpin some`, sum(pinned), budgetTokens);
    }
    for (const u of pinned) keep.add(u);
    room -= sum(pinned);
  }
  const rest = units.filter((u) => !keep.has(u));

  const finish = (window: Unit[], summarized: Unit[], summary: PlanSummary | null): PlanOutcome => {
    for (const u of window) keep.add(u);
    for (const u of rest) {
      if (keep.has(u)) continue;
      const reason = summarized.includes(u) ? DropReason.SUMMARIZED : DropReason.WINDOW;
      for (const m of u.messages) dropped.push({ messageId: m.id, tokens: m.tokens, reason, at: at(m) });
    }
    const items: ContextItem[] = system ? [system] : [];
    if (summary) items.push({ kind: ContextItemKind.SUMMARY, messageId: null, role: MessageRole.SYSTEM, tokens: summary.tokens });
    for (const u of [...keep].sort((a, b) => a.first - b.first)) {
      for (const m of u.messages) items.push({ kind: ContextItemKind.MESSAGE, messageId: m.id, role: m.role, tokens: m.tokens });
    }
    return {
      plan: {
        strategy,
        contextWindow: input.contextWindow,
        reservedOutputTokens: input.reservedOutputTokens,
        toolTokens,
        budgetTokens,
        usedTokens: sum(items) + toolTokens + REPLY_PRIMING,
        items,
        dropped: dropped.sort((a, b) => a.at - b.at).map(({ at: _at, ...d }) => d),
        summary,
      },
    };
  };
  const slide = () => finish(recent(rest, room), [], null);

  const summarizes = strategy === ContextStrategy.SUMMARIZE || strategy === ContextStrategy.HYBRID;
  if (!summarizes || sum(rest) <= room) return slide();

  const allowNew = input.allowNewSummary ?? true;
  const through = input.summary ? path.findIndex((m) => m.id === input.summary!.throughMessageId) : -1;
  const existing = through >= 0 ? input.summary! : null;
  if (existing && existing.tokens <= room) {
    const covered = (u: Unit) => at(u.messages.at(-1)!) <= through;
    const newer = rest.filter((u) => !covered(u));
    if (sum(newer) + existing.tokens <= room || !allowNew) {
      return finish(recent(newer, room - existing.tokens), rest.filter(covered), existing);
    }
  }
  const reserve = Math.min(MAX_SUMMARY_TOKENS, Math.floor(room * SUMMARY_SHARE));
  if (!allowNew || reserve < MIN_SUMMARY_TOKENS) return slide();

  const window = recent(rest, room - reserve);
  const cutoff = at(rest[rest.length - window.length - 1].messages.at(-1)!);
  // A summary stands for the whole prefix through `cutoff`, pinned messages included (HYBRID also
  // sends those verbatim): one stored summary per prefix then serves either strategy, and switching
  // strategy can never reuse a summary that silently left messages out.
  const olderMessages = units.filter((u) => at(u.messages.at(-1)!) <= cutoff).flatMap((u) => u.messages);
  const fresh = olderMessages.filter((m) => at(m) > through);
  // Extend the stored summary when it covers a strict prefix of what must go; otherwise start over.
  const previous = existing && fresh.length > 0 ? existing : null;
  const messages = previous ? fresh : olderMessages;
  return {
    summarize: {
      throughMessageId: path[cutoff].id,
      previous,
      messages,
      messageCount: (previous?.messageCount ?? 0) + messages.length,
      maxTokens: reserve,
    },
  };
}
