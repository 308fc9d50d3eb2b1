import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

/**
 * The contract between the run engine and any LLM backend. Everything here is
 * provider-neutral so the engine never sees SDK types except the message
 * params, which are the lingua franca of every OpenAI-compatible endpoint.
 */

/** A tool the model may call; `parameters` is a JSON Schema object, passed through untouched. */
export interface ChatToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** One model turn. `model` is the upstream name (no `provider/` prefix) because the registry already routed it. */
export interface ChatRequest {
  model: string;
  messages: ChatCompletionMessageParam[];
  tools?: ChatToolSpec[];
  temperature?: number;
  /** Completion budget; sent as `max_tokens` because most compatible servers ignore `max_completion_tokens`. */
  maxTokens?: number;
  /** Aborting stops the upstream HTTP request and makes the stream throw `ProviderError('CANCELLED')`. */
  signal?: AbortSignal;
}

/** Token counts as billed; `reasoningTokens` and `cachedTokens` are subsets of completion and prompt tokens. */
export interface ProviderUsage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
}

/** Why the model stopped, normalised: unknown upstream reasons become `stop`. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** A fully assembled tool call; `arguments` is the raw JSON text the model produced (may be invalid JSON). */
export interface CompletedToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * What a provider streams. Deltas are forwarded to subscribers as they come;
 * `finish` is always the last event and carries the assembled tool calls so
 * the engine need not re-assemble fragments itself.
 */
export type ProviderEvent =
  | { type: 'reasoning'; text: string }
  | { type: 'text'; text: string }
  | { type: 'tool_call_started'; index: number; id: string; name: string }
  | { type: 'tool_call_delta'; index: number; id: string; argumentsDelta: string }
  | { type: 'finish'; reason: FinishReason; toolCalls: CompletedToolCall[]; usage?: ProviderUsage };

/**
 * A streaming chat backend. `stream` either yields events ending with exactly
 * one `finish`, or throws a `ProviderError`; it retries transient failures
 * itself only while nothing has been yielded, so the engine never sees
 * duplicated deltas.
 */
export interface ChatProvider {
  readonly name: string;
  stream(req: ChatRequest): AsyncIterable<ProviderEvent>;
}

/** Failure classes the engine maps to run errors (and, for users, to readable messages). */
export type ProviderErrorCode =
  | 'UPSTREAM_RATE_LIMITED'
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_UNAVAILABLE'
  | 'MALFORMED_STREAM'
  | 'TRUNCATED_STREAM'
  | 'CANCELLED'
  | 'UNKNOWN_MODEL'
  | 'BAD_REQUEST';

/**
 * The only error a provider throws. `retryable` says whether sending the same
 * request again could plausibly succeed; it does not say whether output was
 * already streamed (the engine knows that, and decides whether to retry a step).
 */
export class ProviderError extends Error {
  override name = 'ProviderError';

  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    readonly options: { status?: number; type?: string; retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }

  /**
   * What a user may read (RunFailed, `run.error`): the failure class and the
   * upstream's HTTP status and error type, never the upstream's own text, which
   * can carry the operator's (masked) key or internal URLs. `message` keeps the
   * full text, secrets masked, for the log.
   */
  get userMessage(): string {
    const { status } = this.options;
    const type = this.options.type && SAFE_TYPE.test(this.options.type) ? this.options.type : undefined;
    if (status !== undefined) return `The model provider answered ${status}${type ? ` (${type})` : ''}`;
    return type ? `${USER_MESSAGES[this.code]} (${type})` : USER_MESSAGES[this.code];
  }

  /** Upstream HTTP status when there was one, for logs and error details. */
  get status(): number | undefined {
    return this.options.status;
  }

  get retryable(): boolean {
    return this.options.retryable ?? false;
  }

  /** What the upstream asked us to wait (Retry-After), when it said. */
  get retryAfterMs(): number | undefined {
    return this.options.retryAfterMs;
  }
}

/** An upstream error type worth repeating: a short identifier, nothing that could carry a secret or a URL. */
const SAFE_TYPE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Per failure class, when there is no HTTP status to report. */
const USER_MESSAGES = {
  UPSTREAM_RATE_LIMITED: 'The model provider is rate limiting requests',
  UPSTREAM_ERROR: 'The model provider reported an error',
  UPSTREAM_TIMEOUT: 'The model provider did not answer in time',
  UPSTREAM_UNAVAILABLE: 'The model provider could not be reached',
  MALFORMED_STREAM: 'The model provider sent a malformed stream',
  TRUNCATED_STREAM: 'The model provider stream ended before the model finished',
  CANCELLED: 'The request was cancelled',
  UNKNOWN_MODEL: 'The model provider does not serve this model',
  BAD_REQUEST: 'The model provider refused the request',
} satisfies Record<ProviderErrorCode, string>;

/**
 * Masks what looks like a credential in upstream text before it is logged:
 * OpenAI-style keys (also in their masked `sk-proj-abc...xyz` form), bearer
 * tokens, Parley keys, `key=value` secrets and passwords in URLs.
 */
export function maskSecrets(text: string): string {
  return text
    .replace(/\b(sk|pk|rk|gsk|xai)[-_][A-Za-z0-9_.*-]{3,}/g, '$1-***')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 ***')
    .replace(/\b((?:api[_-]?key|access[_-]?token|token|secret|password|key)["']?\s*[:=]\s*["']?)[^\s"'&,;]+/gi, '$1***')
    .replace(/(\/\/[^/\s:@]+):[^@\s/]+@/g, '$1:***@');
}
