import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { abortableSleep, cancelled } from './abortable-sleep';
import type { ChatProvider, ChatRequest, CompletedToolCall, FinishReason, ProviderEvent } from './provider.types';

export interface DemoProviderOptions {
  /** Pause before each streamed piece, so UIs show real streaming offline. Default 20 ms; 0 streams at once. */
  tokenDelayMs?: number;
}

/** A planned turn, computed up front so the output is a pure function of the request. */
interface Plan {
  reasoning: string;
  text: string;
  toolCalls: CompletedToolCall[];
}

const ARITHMETIC = /[\d(][\d\s.+\-*/%^()]*[\d)]/g;
const HAS_OPERATOR = /[\d)]\s*[-+*/%^]\s*[\d(]/;
const SNIPPET_CHARS = 200;

/**
 * The built-in `demo` provider: offline, free and deterministic, so every
 * feature (reasoning, streaming, tool calls, cancellation) can be tried and
 * tested without an API key. It says plainly that it is not a language model.
 */
export class DemoProvider implements ChatProvider {
  readonly name = 'demo';
  private readonly tokenDelayMs: number;

  constructor(opts: DemoProviderOptions = {}) {
    this.tokenDelayMs = Math.max(0, opts.tokenDelayMs ?? 20);
  }

  async *stream(req: ChatRequest): AsyncGenerator<ProviderEvent, void, undefined> {
    const plan = planTurn(req);
    let reasoningTokens = 0;
    let completionTokens = 0;
    for (const piece of words(plan.reasoning)) {
      await this.pace(req.signal);
      reasoningTokens++;
      yield { type: 'reasoning', text: piece };
    }
    let reason: FinishReason = plan.toolCalls.length > 0 ? 'tool_calls' : 'stop';
    for (const piece of words(plan.text)) {
      // The budget covers answer text only, so a tiny maxTokens still shows the reasoning and a `length` finish.
      if (req.maxTokens !== undefined && completionTokens >= req.maxTokens) {
        reason = 'length';
        break;
      }
      await this.pace(req.signal);
      completionTokens++;
      yield { type: 'text', text: piece };
    }
    for (const [index, call] of plan.toolCalls.entries()) {
      await this.pace(req.signal);
      yield { type: 'tool_call_started', index, id: call.id, name: call.name };
      for (const fragment of fragments(call.arguments)) {
        await this.pace(req.signal);
        completionTokens++;
        yield { type: 'tool_call_delta', index, id: call.id, argumentsDelta: fragment };
      }
    }
    if (req.signal?.aborted) throw cancelled();
    yield {
      type: 'finish',
      reason,
      toolCalls: plan.toolCalls,
      usage: {
        promptTokens: approxTokens(req),
        completionTokens: completionTokens + reasoningTokens,
        reasoningTokens,
        cachedTokens: 0,
      },
    };
  }

  private async pace(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw cancelled();
    if (this.tokenDelayMs > 0) await abortableSleep(this.tokenDelayMs, signal);
  }
}

/** Decides the whole turn from the conversation tail and the offered tools. */
export function planTurn(req: ChatRequest): Plan {
  const { messages } = req;
  const toolResults = trailingToolResults(messages);
  if (toolResults.length > 0) {
    return {
      reasoning: 'Thinking about the tool result … I will report it as it is.',
      text: `The result is ${toolResults.join(' and ')}.`,
      toolCalls: [],
    };
  }
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const said = lastUser ? textOf(lastUser.content).trim() : '';
  if (said === '') {
    return {
      reasoning: 'Thinking about an empty conversation …',
      text: "Hello! I am Parley's built-in demo model. Send a message and I will echo it back.",
      toolCalls: [],
    };
  }
  const snippet = said.length > SNIPPET_CHARS ? `${said.slice(0, SNIPPET_CHARS)}…` : said;
  const offered = new Set((req.tools ?? []).map((t) => t.name));
  const calls: { name: string; args: Record<string, string> }[] = [];
  const expression = offered.has('calculator') ? findArithmetic(said) : undefined;
  if (expression) calls.push({ name: 'calculator', args: { expression } });
  if (offered.has('current_time') && /\btime\b/i.test(said)) calls.push({ name: 'current_time', args: {} });
  if (calls.length > 0) {
    return {
      reasoning: `Thinking about “${snippet}” … I will call ${calls.map((c) => c.name).join(' and ')}.`,
      text: '',
      toolCalls: calls.map((c, i) => ({
        // Unique within the conversation and stable across replays of the same request.
        id: `call_demo_${messages.length}_${i}`,
        name: c.name,
        arguments: JSON.stringify(c.args),
      })),
    };
  }
  return {
    reasoning: `Thinking about “${snippet}” … I am the demo model, so I will echo it back.`,
    text:
      `You said: "${snippet}". This is Parley's built-in demo model, not an LLM: it streams a fixed reply ` +
      'so conversations, streaming and tool calls can be tried offline. ' +
      'Set OPENAI_API_KEY or PARLEY_PROVIDERS to talk to a real model.',
    toolCalls: [],
  };
}

/** The first arithmetic-looking span with at least one operator, e.g. "12*(3+4)" in "what is 12*(3+4)?". */
export function findArithmetic(text: string): string | undefined {
  for (const match of text.match(ARITHMETIC) ?? []) {
    const candidate = match.trim();
    if (HAS_OPERATOR.test(candidate) && balanced(candidate)) return candidate;
  }
  return undefined;
}

function balanced(expr: string): boolean {
  let depth = 0;
  for (const ch of expr) {
    if (ch === '(') depth++;
    if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/** Tool messages after the last assistant turn: all results of one round of (possibly parallel) calls. */
function trailingToolResults(messages: ChatCompletionMessageParam[]): string[] {
  const results: string[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i].role === 'tool'; i--) {
    results.unshift(readableResult(textOf(messages[i].content)));
  }
  return results;
}

/** Built-in tools answer JSON such as `{"expression":"6*7","result":42}`; the demo reads out the result. */
function readableResult(output: string): string {
  try {
    const parsed: unknown = JSON.parse(output);
    if (parsed && typeof parsed === 'object' && 'result' in parsed) return String((parsed as { result: unknown }).result);
    if (parsed && typeof parsed === 'object' && 'formatted' in parsed) return String((parsed as { formatted: unknown }).formatted);
  } catch {
    // not JSON: say it as it is
  }
  return output;
}

function textOf(content: ChatCompletionMessageParam['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join('');
}

/** Word-sized pieces that keep their trailing space, so joining them gives the exact text back. */
function words(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

/** Splits tool arguments into several fragments, as real models stream them. */
function fragments(args: string): string[] {
  const size = Math.max(4, Math.ceil(args.length / 3));
  const out: string[] = [];
  for (let i = 0; i < args.length; i += size) out.push(args.slice(i, i + size));
  return out;
}

/** About four characters per token, the usual rule of thumb for English. */
function approxTokens(req: ChatRequest): number {
  const chars = req.messages.reduce((n, m) => n + textOf(m.content).length, 0);
  return Math.ceil(chars / 4);
}
