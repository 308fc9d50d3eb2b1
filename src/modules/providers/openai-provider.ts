import { TextDecoder } from 'node:util';
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import { abortableSleep, cancelled } from './abortable-sleep';
import { ChunkAccumulator } from './chunk-accumulator';
import { SseChunkParser } from './sse-chunks';
import { fromSdkError, streamDied } from './openai-errors';
import { ProviderError, type ChatProvider, type ChatRequest, type ProviderEvent } from './provider.types';

export interface OpenAICompatibleProviderOptions {
  /** The `provider` half of model ids routed here; also prefixes error messages. */
  name: string;
  /** Base URL ending in `/v1` (or wherever the vendor mounts `/chat/completions`). */
  baseURL: string;
  /** Optional because local servers (Ollama, llama.cpp, vLLM) accept any key. */
  apiKey?: string;
  /** Time allowed until response headers arrive. Default 60 s. */
  timeoutMs?: number;
  /** Longest silence allowed between two chunks once streaming. Default 120 s: reasoning models can think silently. */
  idleTimeoutMs?: number;
  /** Extra attempts after a transient failure, only while nothing has been yielded. Default 2. */
  maxRetries?: number;
  /** First backoff delay; doubles per attempt, with jitter. Default 500 ms. */
  retryBaseDelayMs?: number;
  /** Ceiling for one backoff; a Retry-After beyond it fails fast instead of stalling the run. Default 20 s. */
  maxRetryDelayMs?: number;
  /** OpenAI's reasoning models reject `max_tokens`; most compatible servers ignore `max_completion_tokens`. */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

/**
 * Any OpenAI-compatible `/chat/completions` endpoint, through the official
 * SDK. The SDK's own retries are off: its backoff is fixed at 0.5 s+ and its
 * sleep ignores the abort signal, and a stream can also die before its first
 * delta, which it never retries. One loop here covers all three cases.
 */
export class OpenAICompatibleProvider implements ChatProvider {
  readonly name: string;
  private readonly client: OpenAI;
  private readonly timeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly maxTokensField: 'max_tokens' | 'max_completion_tokens';

  constructor(opts: OpenAICompatibleProviderOptions) {
    this.name = opts.name;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 120_000;
    this.maxRetries = opts.maxRetries ?? 2;
    this.retryBaseDelayMs = opts.retryBaseDelayMs ?? 500;
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 20_000;
    this.maxTokensField = opts.maxTokensField ?? (isOpenAIHost(opts.baseURL) ? 'max_completion_tokens' : 'max_tokens');
    this.client = new OpenAI({
      baseURL: opts.baseURL,
      // Explicit values everywhere: the SDK otherwise reads OPENAI_* env vars and would leak them to other vendors.
      apiKey: opts.apiKey || 'no-key',
      organization: null,
      project: null,
      adminAPIKey: null,
      webhookSecret: null,
      // Our own watchdog enforces timeoutMs (the SDK's timeout error is indistinguishable from a
      // connection error when AbortError crosses realms, e.g. under Jest); this is only a backstop.
      timeout: this.timeoutMs + 1_000,
      maxRetries: 0,
      // Every failure is rethrown as a ProviderError with the detail; SDK console output would only duplicate it.
      logLevel: 'off',
    });
  }

  async *stream(req: ChatRequest): AsyncGenerator<ProviderEvent, void, undefined> {
    for (let attempt = 0; ; attempt++) {
      const progress = { yielded: false };
      try {
        // One network read's events at a time from the attempt, one event at a time to the caller.
        for await (const events of this.attempt(req, progress)) {
          for (const event of events) yield event;
        }
        return;
      } catch (err) {
        const error = req.signal?.aborted ? cancelled() : fromSdkError(err, this.name);
        const delay = this.backoffMs(attempt, error.retryAfterMs);
        // Once a delta reached the caller a retry would duplicate it, so only untouched streams are retried.
        if (progress.yielded || !error.retryable || attempt >= this.maxRetries || delay === undefined) throw error;
        await abortableSleep(delay, req.signal);
      }
    }
  }

  /** One request; yields the events of each network read together (never an empty batch), then the finish. */
  private async *attempt(req: ChatRequest, progress: { yielded: boolean }): AsyncGenerator<ProviderEvent[]> {
    if (req.signal?.aborted) throw cancelled();
    // One controller per attempt, fed by the caller's signal and the watchdog, so either one tears down the socket.
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    // "Upstream owes us something": response headers first, then the next chunk. While the caller handles
    // our events the watchdog holds its fire (a slow consumer is not a silent upstream); each read that
    // makes progress restarts it (refresh, not a new timer per read).
    let timedOut: 'headers' | 'idle' | undefined;
    let consuming = false;
    const watch = (phase: 'headers' | 'idle', ms: number) =>
      setTimeout(() => {
        if (consuming) return;
        timedOut = phase;
        controller.abort();
      }, ms);
    let watchdog = watch('headers', this.timeoutMs);
    try {
      const response = await this.client.chat.completions.create(this.body(req), { signal: controller.signal }).asResponse();
      clearTimeout(watchdog);
      watchdog = watch('idle', this.idleTimeoutMs);
      const reader = response.body?.getReader();
      if (!reader) throw streamDied(undefined, this.name);
      const parser = new SseChunkParser(response.headers);
      const decoder = new TextDecoder();
      const acc = new ChunkAccumulator(this.name);
      for (let ended = false; !ended; ) {
        const text = await this.read(reader, decoder, acc);
        ended = text === undefined;
        const { events, progressed, failure } = parseRead(parser, acc, text);
        // Only content is progress: an upstream sending empty deltas (or keep-alive chunks) forever is as
        // silent as one sending nothing, and must not hold the run past the idle timeout.
        if (progressed) {
          if (events.length) {
            progress.yielded = true;
            consuming = true;
            yield events;
            consuming = false;
          }
          watchdog.refresh();
        }
        if (failure !== undefined) throw failure;
      }
      clearTimeout(watchdog);
      // An abort (ours or the caller's) can end the loop like the end of the body: the reason is checked here.
      if (req.signal?.aborted) throw cancelled();
      if (timedOut) throw this.timeoutError(timedOut);
      if (!acc.finished) throw streamDied(undefined, this.name);
      yield [acc.finish()];
    } catch (err) {
      if (req.signal?.aborted) throw cancelled();
      if (timedOut) throw this.timeoutError(timedOut);
      throw err;
    } finally {
      clearTimeout(watchdog);
      req.signal?.removeEventListener('abort', onAbort);
      // Stops the HTTP request if the caller broke out early; a no-op after a complete response.
      controller.abort();
    }
  }

  /** Reads the body's next piece of text; a socket that dies after finish_reason (before the usage chunk) still completes the turn. */
  private async read(reader: ReadableStreamDefaultReader<Uint8Array>, decoder: TextDecoder, acc: ChunkAccumulator): Promise<string | undefined> {
    try {
      const r = await reader.read();
      return r.done ? undefined : decoder.decode(r.value, STREAMING);
    } catch (err) {
      const mapped = fromSdkError(err, this.name);
      if (acc.finished && mapped.code === 'TRUNCATED_STREAM') return undefined;
      throw mapped;
    }
  }

  private body(req: ChatRequest): ChatCompletionCreateParamsStreaming {
    return {
      model: req.model,
      messages: req.messages,
      stream: true,
      stream_options: { include_usage: true },
      ...(req.tools?.length
        ? {
            tools: req.tools.map((t) => ({
              type: 'function' as const,
              function: { name: t.name, description: t.description, parameters: t.parameters },
            })),
          }
        : {}),
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      ...(req.maxTokens !== undefined ? { [this.maxTokensField]: req.maxTokens } : {}),
    };
  }

  private timeoutError(phase: 'headers' | 'idle'): ProviderError {
    const message =
      phase === 'headers'
        ? `${this.name}: no response within ${this.timeoutMs} ms`
        : `${this.name}: no data for ${this.idleTimeoutMs} ms while streaming`;
    return new ProviderError('UPSTREAM_TIMEOUT', message, { retryable: true });
  }

  /** Exponential backoff with equal jitter; undefined when the upstream asks for a longer wait than we allow. */
  private backoffMs(attempt: number, retryAfterMs: number | undefined): number | undefined {
    const exp = Math.min(this.maxRetryDelayMs, this.retryBaseDelayMs * 2 ** attempt);
    const jittered = exp / 2 + Math.random() * (exp / 2);
    if (retryAfterMs === undefined) return jittered;
    return retryAfterMs > this.maxRetryDelayMs ? undefined : Math.max(retryAfterMs, jittered);
  }
}

const STREAMING = { stream: true };

/**
 * The events of one read's chunks (`undefined`: the body ended), and whether any of them moved the turn on. A failure (a chunk that is
 * not JSON, an error event, a malformed tool call) is returned after the events of the chunks before it,
 * which the caller hands on first, as it would have one chunk at a time.
 */
function parseRead(parser: SseChunkParser, acc: ChunkAccumulator, text: string | undefined): { events: ProviderEvent[]; progressed: boolean; failure: unknown } {
  const chunks: ChatCompletionChunk[] = [];
  let failure: unknown;
  try {
    if (text === undefined) parser.end(chunks);
    else parser.push(text, chunks);
  } catch (err) {
    failure = err;
  }
  const events: ProviderEvent[] = [];
  let progressed = false;
  for (const chunk of chunks) {
    const before = events.length;
    try {
      acc.push(chunk, events);
    } catch (err) {
      failure = err;
      break;
    }
    if (!progressed) progressed = events.length > before || isProgress(chunk);
  }
  return { events, progressed, failure };
}

/** A chunk that moves the turn on without producing an event yet: the end of the turn, usage, a tool call's first fragment. */
function isProgress(chunk: ChatCompletionChunk): boolean {
  return Boolean(chunk.usage) || (chunk.choices ?? []).some((c) => Boolean(c.finish_reason) || Boolean(c.delta?.tool_calls?.length));
}

function isOpenAIHost(baseURL: string): boolean {
  try {
    return new URL(baseURL).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}
