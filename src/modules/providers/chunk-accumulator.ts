import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { MAX_TOKEN_COUNT } from '../usage/usage.types';
import { ProviderError, type CompletedToolCall, type FinishReason, type ProviderEvent, type ProviderUsage } from './provider.types';

/** Longest tool call id or tool name Parley stores (varchar(200)); an upstream sending more is broken. */
export const MAX_TOOL_FIELD = 200;

/**
 * Turns OpenAI-compatible stream chunks into provider events. Pure and
 * synchronous so the wire quirks of each vendor can be unit-tested without a
 * server; the HTTP side lives in openai-provider.ts.
 */

/** Fields some servers add to a delta that the SDK types do not declare (DeepSeek, vLLM, OpenRouter, Ollama). */
interface RawDelta {
  reasoning_content?: unknown;
  reasoning?: unknown;
}

/** Usage fields outside the SDK types: DeepSeek reports cache hits under its own name. */
type RawUsage = CompletionUsage & { prompt_cache_hit_tokens?: number };

interface PartialCall {
  id: string;
  name: string;
  arguments: string;
  /** Whether `tool_call_started` went out; argument text that arrives before the name waits for it. */
  started: boolean;
}

type ToolCallDelta = NonNullable<ChatCompletionChunk.Choice.Delta['tool_calls']>[number];

export class ChunkAccumulator {
  private readonly calls = new Map<number, PartialCall>();
  private lastIndex = 0;
  finishReason?: FinishReason;
  usage?: ProviderUsage;

  /** `provider` names the upstream in errors, as every provider error does. */
  constructor(private readonly provider = 'upstream') {}

  /** Appends the chunk's events to `events` (a fresh array unless given) and returns it. */
  push(chunk: ChatCompletionChunk, events: ProviderEvent[] = []): ProviderEvent[] {
    if (chunk.usage) this.usage = toUsage(chunk.usage);
    // Parley never asks for n > 1; any other choice would be a server bug, not content.
    for (const choice of chunk.choices ?? []) {
      if (choice.index !== 0 && choice.index !== undefined) continue;
      const delta = choice.delta ?? {};
      const raw = delta as RawDelta;
      const reasoning = nonEmpty(raw.reasoning_content) ?? nonEmpty(raw.reasoning);
      if (reasoning !== undefined) events.push({ type: 'reasoning', text: reasoning });
      const text = nonEmpty(delta.content) ?? nonEmpty(delta.refusal);
      if (text !== undefined) events.push({ type: 'text', text });
      delta.tool_calls?.forEach((tc, position) => this.toolCall(tc, position, events));
      if (choice.finish_reason) this.finishReason = normaliseFinish(choice.finish_reason);
    }
    return events;
  }

  /** True once the upstream said why it stopped: the only end-of-turn signal the SDK exposes ([DONE] is swallowed). */
  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  finish(): Extract<ProviderEvent, { type: 'finish' }> {
    const toolCalls: CompletedToolCall[] = [...this.calls.entries()]
      .filter(([, c]) => c.started)
      .sort(([a], [b]) => a - b)
      .map(([, c]) => ({ id: c.id, name: c.name, arguments: c.arguments }));
    let reason = this.finishReason ?? 'stop';
    // Some servers (older vLLM, Ollama) say `stop` after emitting tool calls; the engine must still run them.
    if (reason === 'stop' && toolCalls.length > 0) reason = 'tool_calls';
    return { type: 'finish', reason, toolCalls, ...(this.usage ? { usage: this.usage } : {}) };
  }

  private toolCall(tc: ToolCallDelta, position: number, events: ProviderEvent[]): void {
    checkToolCallDelta(tc, this.provider);
    const index = this.indexOf(tc, position);
    let call = this.calls.get(index);
    if (!call) {
      call = { id: tc.id || `call_${index}`, name: '', arguments: '', started: false };
      this.calls.set(index, call);
    }
    this.lastIndex = index;
    if (!call.name && tc.function?.name) call.name = tc.function.name;
    const fragment = tc.function?.arguments ?? '';
    call.arguments += fragment;
    if (!call.started && call.name) {
      call.started = true;
      events.push({ type: 'tool_call_started', index, id: call.id, name: call.name });
      // Fragments that arrived before the name are flushed as one delta so the sum of deltas equals the arguments.
      if (call.arguments) events.push({ type: 'tool_call_delta', index, id: call.id, argumentsDelta: call.arguments });
      return;
    }
    if (call.started && fragment) {
      events.push({ type: 'tool_call_delta', index, id: call.id, argumentsDelta: fragment });
    }
  }

  /**
   * `index` is required by the OpenAI spec, but some compatible endpoints
   * (Gemini) omit it and send each call whole: a new id then means a new call.
   */
  private indexOf(tc: ToolCallDelta, position: number): number {
    if (typeof tc.index === 'number') return tc.index;
    if (!tc.id) return this.calls.size === 0 ? position : this.lastIndex;
    for (const [i, c] of this.calls) if (c.id === tc.id) return i;
    return this.calls.size;
  }
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function normaliseFinish(reason: string): FinishReason {
  switch (reason) {
    case 'stop':
    case 'length':
    case 'tool_calls':
    case 'content_filter':
      return reason;
    case 'function_call':
      return 'tool_calls';
    default:
      // Vendor-specific reasons ('eos', 'end_turn', …) all mean the model ended its turn.
      return 'stop';
  }
}

/**
 * A tool call's id, name and argument text must be strings (ids and names no
 * longer than Parley stores): anything else cannot be executed, stored or
 * answered, so the stream is malformed rather than half-used.
 */
function checkToolCallDelta(tc: ToolCallDelta, provider: string): void {
  const bad = (what: string) => new ProviderError('MALFORMED_STREAM', `${provider}: stream has a tool call whose ${what}`, { retryable: false });
  if (tc.id != null && (typeof tc.id !== 'string' || tc.id.length > MAX_TOOL_FIELD)) throw bad(`id is not a string of at most ${MAX_TOOL_FIELD} characters`);
  const name: unknown = tc.function?.name;
  if (name != null && (typeof name !== 'string' || name.length > MAX_TOOL_FIELD)) throw bad(`name is not a string of at most ${MAX_TOOL_FIELD} characters`);
  const args: unknown = tc.function?.arguments;
  if (args != null && typeof args !== 'string') throw bad('arguments are not a string');
}

/** A token count as Postgres stores it: what an upstream reports out of range (negative, fractional, huge) is clamped. */
function tokens(v: unknown): number {
  const n = typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
  return Math.min(Math.max(n, 0), MAX_TOKEN_COUNT);
}

function toUsage(u: RawUsage): ProviderUsage {
  return {
    promptTokens: tokens(u.prompt_tokens),
    completionTokens: tokens(u.completion_tokens),
    reasoningTokens: tokens(u.completion_tokens_details?.reasoning_tokens),
    cachedTokens: tokens(u.prompt_tokens_details?.cached_tokens ?? u.prompt_cache_hit_tokens),
  };
}
