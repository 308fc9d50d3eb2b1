import { get_encoding, type Tiktoken } from 'tiktoken';
import type { ToolCallPart } from '../messages/message.entity';

/** Tokens a chat message costs beyond its text: role and separators (OpenAI's cookbook counts 3–4). */
export const MESSAGE_OVERHEAD = 4;
/** Tokens that prime the assistant's reply after the last message. */
export const REPLY_PRIMING = 3;
/** Tokens around each tool call (type, id and name fields). */
const TOOL_CALL_OVERHEAD = 4;
/** Characters per token assumed for tokenizers we do not have: low on purpose, so the count over-estimates. */
const APPROX_CHARS_PER_TOKEN = 3;

export type Encoding = 'o200k_base' | 'cl100k_base';

/** Counts tokens of text for one model family. */
export interface TokenCounter {
  /** `approx` when no real tokenizer is known for the family. */
  readonly encoding: Encoding | 'approx';
  count(text: string): number;
  /** The longest prefix of `text` that counts at most `maxTokens`. */
  truncate(text: string, maxTokens: number): string;
}

interface Family {
  pattern: RegExp;
  encoding: Encoding;
  /** >1 where the family's own tokenizer differs from the encoding we count with, so we over- rather than under-estimate. */
  margin: number;
}

/**
 * Model families by upstream name (without any `org/` prefix). OpenAI's own
 * models count exactly; other families served through OpenAI-compatible APIs
 * use vocabularies of similar size, so cl100k with a margin bounds them.
 */
const FAMILIES: readonly Family[] = [
  { pattern: /^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o[1-9](-|$)|gpt-oss)/i, encoding: 'o200k_base', margin: 1 },
  { pattern: /^(gpt-4|gpt-3\.5|gpt-35|text-embedding-)/i, encoding: 'cl100k_base', margin: 1 },
  {
    pattern: /^(deepseek|(meta-)?llama|qwen|mistral|mixtral|codestral|gemma|phi-?\d|command-r|yi-|glm|kimi)/i,
    encoding: 'cl100k_base',
    margin: 1.15,
  },
];

export function familyOf(model: string): { encoding: Encoding; margin: number } | undefined {
  const name = model.slice(model.lastIndexOf('/') + 1);
  const family = FAMILIES.find((f) => f.pattern.test(name));
  return family && { encoding: family.encoding, margin: family.margin };
}

const encoders = new Map<Encoding, Tiktoken>();

/**
 * tiktoken's WebAssembly build keeps its rank tables in WebAssembly memory,
 * outside the JavaScript heap: the garbage collector never walks them. The
 * pure-JavaScript port held ~160 MB of maps on the heap, and every scavenge
 * and mark of a worker streaming tokens paid for them (bench/README.md).
 * Encodings load on first use (~0.2 s each), only the ones a deployment needs.
 */
function encoder(encoding: Encoding): Tiktoken {
  let enc = encoders.get(encoding);
  if (!enc) {
    enc = get_encoding(encoding);
    encoders.set(encoding, enc);
  }
  return enc;
}

const utf8 = new TextDecoder();

class TiktokenCounter implements TokenCounter {
  constructor(
    readonly encoding: Encoding,
    private readonly margin: number,
  ) {}

  count(text: string): number {
    if (!text) return 0;
    // Special-token text in user content is just text: encode it, never reject it.
    return Math.ceil(encoder(this.encoding).encode_ordinary(text).length * this.margin);
  }

  truncate(text: string, maxTokens: number): string {
    if (this.count(text) <= maxTokens) return text;
    const enc = encoder(this.encoding);
    let keep = Math.floor(Math.max(0, maxTokens) / this.margin);
    const tokens = enc.encode_ordinary(text);
    let out = utf8.decode(enc.decode(tokens.slice(0, keep)));
    // A cut inside a multi-byte character decodes to U+FFFD, which may re-encode longer.
    while (keep > 0 && this.count(out) > maxTokens) out = utf8.decode(enc.decode(tokens.slice(0, --keep)));
    return out;
  }
}

const approxCounter: TokenCounter = {
  encoding: 'approx',
  count: (text) => Math.ceil(text.length / APPROX_CHARS_PER_TOKEN),
  truncate: (text, maxTokens) => text.slice(0, Math.max(0, maxTokens) * APPROX_CHARS_PER_TOKEN),
};

const counters = new Map<string, TokenCounter>();

/** The counter for a model (upstream name or `provider/model` id); cached, and cheap until first used. */
export function tokenCounterFor(model: string): TokenCounter {
  let counter = counters.get(model);
  if (!counter) {
    const family = familyOf(model);
    counter = family ? new TiktokenCounter(family.encoding, family.margin) : approxCounter;
    counters.set(model, counter);
  }
  return counter;
}

/** The part of a chat message that costs tokens. */
export interface CountableMessage {
  content: string | null;
  toolCalls?: readonly ToolCallPart[] | null;
  toolCallId?: string | null;
}

/** Tokens one chat message takes in a prompt: text, tool calls and the per-message overhead. */
export function countMessageTokens(counter: TokenCounter, m: CountableMessage): number {
  let n = MESSAGE_OVERHEAD + counter.count(m.content ?? '');
  for (const call of m.toolCalls ?? []) {
    n += TOOL_CALL_OVERHEAD + counter.count(call.id) + counter.count(call.name) + counter.count(call.arguments);
  }
  if (m.toolCallId) n += counter.count(m.toolCallId);
  return n;
}

/** Tokens the tool definitions offered to the model take (sent as JSON schema alongside the messages). */
export function countToolTokens(counter: TokenCounter, tools: readonly { name: string; description?: string; parameters?: unknown }[]): number {
  return tools.reduce((n, t) => n + TOOL_CALL_OVERHEAD + counter.count(JSON.stringify(t)), 0);
}

/**
 * Loads both encodings now (about 0.4 s of CPU, once per process) so the first
 * run on a real model does not pay it inside its time to first token.
 */
export function preloadEncodings(): void {
  encoder('cl100k_base');
  encoder('o200k_base');
}
