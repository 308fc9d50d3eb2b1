import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { RunEventsDocument, type RunEventsSubscription, type SendMessageMutation } from '../generated/graphql.js';
import { ParleyError } from './errors.js';
import { isTerminalEvent, type RunEvent } from './events.js';
import { MessageBuilder, type FoldedMessage } from './fold.js';
import { operationText } from './http.js';
import type { SubscribeClient } from './socket.js';
import { SubscriptionAttempt } from './subscription.js';

export interface RetryOptions {
  /** Reconnects in a row, with no event between them, before the stream gives up. Default 10. */
  maxAttempts?: number;
  /** The first reconnect is immediate; the next waits this long, doubling each time. Default 500 ms. */
  baseDelayMs?: number;
  /** Longest wait between reconnects. Default 10 s. */
  maxDelayMs?: number;
}

export interface RunStreamOptions {
  /** Last `seq` already seen: the stream starts after it. Default 0 (every event). */
  after?: number;
  /** Aborting ends the stream: the `for await` throws the signal's reason. */
  signal?: AbortSignal;
  /** How to reconnect after a dropped socket; `false`: never (the drop throws). */
  retry?: RetryOptions | false;
}

/** What a stream needs from its client. */
export interface StreamContext {
  socket(): Promise<SubscribeClient>;
  /** For error messages. */
  wsUrl: string;
}

const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 10, baseDelayMs: 500, maxDelayMs: 10_000 };

/**
 * A run's events, in order, each exactly once: `for await (const event of stream)`.
 *
 * A dropped socket (network loss, server restart, load balancer timeout) is
 * not an error: the stream reconnects and resubscribes from the last `seq` it
 * yielded, which the server replays from its event log. It ends after the
 * terminal event (RunCompleted, RunFailed, RunCancelled). Server refusals
 * (`NOT_FOUND`, `UNAUTHENTICATED`, `EVENTS_EXPIRED`, `EVENTS_LOST` with
 * `lastSafeSeq`, …) throw a {@link ParleyError} carrying `runId` and `lastSeq`.
 *
 * A stream is read once. While it is read it folds its events (see
 * {@link MessageBuilder}): `snapshot()` is the message so far.
 */
export class RunStream implements AsyncIterable<RunEvent> {
  private readonly builder = new MessageBuilder();
  private seq: number;
  private started = false;
  private ended = false;

  constructor(
    private readonly ctx: StreamContext,
    readonly runId: string,
    private readonly options: RunStreamOptions = {},
  ) {
    this.seq = options.after ?? 0;
  }

  /** `seq` of the last event yielded (`after` before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  /** True once the terminal event was yielded. */
  get done(): boolean {
    return this.ended;
  }

  [Symbol.asyncIterator](): AsyncIterator<RunEvent> {
    if (this.started) {
      throw new Error(`The stream of run ${this.runId} is already being read; open another with runs.stream(runId, { after: ${this.seq} })`);
    }
    this.started = true;
    return this.events();
  }

  /** The message folded from the events yielded so far. */
  snapshot(): FoldedMessage {
    return this.builder.snapshot();
  }

  /** Reads the stream to its end (unless that already happened) and returns the folded message. */
  async finalMessage(): Promise<FoldedMessage> {
    if (!this.started) {
      for await (const _event of this) {
        // folded as it passes
      }
    } else if (!this.ended) {
      throw new Error(`The stream of run ${this.runId} is being read elsewhere or ended early; use snapshot()`);
    }
    return this.snapshot();
  }

  /** Just the answer text, fragment by fragment (the stream's other events are folded, not yielded). */
  async *textDeltas(): AsyncGenerator<string, void, undefined> {
    for await (const event of this) if (event.__typename === 'TokenDelta') yield event.text;
  }

  private async *events(): AsyncGenerator<RunEvent, void, undefined> {
    const { signal } = this.options;
    const retry = this.options.retry === false ? { ...DEFAULT_RETRY, maxAttempts: 0 } : { ...DEFAULT_RETRY, ...this.options.retry };
    const { query, operationName } = operationText(RunEventsDocument);
    let failures = 0;
    for (;;) {
      throwIfAborted(signal);
      const client = await this.ctx.socket();
      const attempt = new SubscriptionAttempt<RunEventsSubscription>(
        client,
        { query, operationName, variables: { runId: this.runId, after: this.seq } },
        this.ctx.wsUrl,
        signal,
      );
      let problem: ParleyError;
      try {
        for (;;) {
          const out = await attempt.next();
          if (out.kind === 'data') {
            const event = out.data.runEvents;
            // A replay overlapping what was yielded (graphql-ws resubscribes on a clean close by itself).
            if (event.seq <= this.seq) continue;
            if (event.seq !== this.seq + 1) {
              throw this.streamError(new ParleyError(`Run ${this.runId}: expected event ${this.seq + 1}, got ${event.seq}`, { code: 'EVENTS_OUT_OF_ORDER' }));
            }
            this.seq = event.seq;
            failures = 0;
            this.builder.add(event);
            if (isTerminalEvent(event)) this.ended = true;
            yield event;
            if (this.ended) return;
            continue;
          }
          if (out.kind === 'aborted') throw abortError(out.reason);
          if (out.kind === 'errors') throw this.streamError(out.error);
          if (out.kind === 'dropped' && !out.retryable) throw this.streamError(out.error);
          problem =
            out.kind === 'dropped'
              ? out.error
              : new ParleyError(`The server ended the stream of run ${this.runId} before its last event`, { code: 'CONNECTION_CLOSED' });
          break;
        }
      } finally {
        attempt.close();
      }
      failures++;
      if (failures > retry.maxAttempts) {
        const tries = retry.maxAttempts === 0 ? '' : ` after ${retry.maxAttempts} reconnects`;
        throw this.streamError(new ParleyError(`${problem.message}${tries}`, { code: problem.code, closeCode: problem.closeCode, cause: problem }));
      }
      // The first reconnect is immediate (a dropped socket, most often), then exponential backoff with jitter.
      const delay = failures === 1 ? 0 : Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (failures - 2)) * (0.5 + Math.random() / 2);
      await sleep(delay, signal);
    }
  }

  private streamError(err: ParleyError): ParleyError {
    return new ParleyError(err.message, {
      code: err.code,
      errors: err.errors,
      status: err.status,
      data: err.data,
      closeCode: err.closeCode,
      cause: err.cause,
      runId: this.runId,
      lastSeq: this.seq,
    });
  }
}

/** The stream of a run started by `chat.send()`, with what `sendMessage` returned. */
export class ChatStream extends RunStream {
  /** The user message just appended. */
  readonly message: SendMessageMutation['sendMessage']['message'];
  /** The reply run, as created (status QUEUED); its events are this stream. */
  readonly run: SendMessageMutation['sendMessage']['run'];

  constructor(ctx: StreamContext, payload: SendMessageMutation['sendMessage'], options: RunStreamOptions = {}) {
    super(ctx, payload.run.id, { ...options, after: 0 });
    this.message = payload.message;
    this.run = payload.run;
  }
}

export interface SubscribeOptions {
  signal?: AbortSignal;
}

/**
 * Any subscription document, typed; results in order until the server
 * completes it. No reconnect (only run streams can resume): a dropped socket
 * throws `CONNECTION_CLOSED` / `NETWORK_ERROR`.
 */
export async function* subscribeOnce<TResult, TVars>(
  ctx: StreamContext,
  doc: TypedDocumentNode<TResult, TVars>,
  variables: TVars,
  options: SubscribeOptions = {},
): AsyncGenerator<TResult, void, undefined> {
  const { query, operationName, operation } = operationText(doc);
  if (operation !== 'subscription') throw new TypeError(`${operationName ?? operation} is a ${operation}: use parley.request()`);
  throwIfAborted(options.signal);
  const attempt = new SubscriptionAttempt<TResult>(
    await ctx.socket(),
    { query, operationName, variables: (variables ?? {}) as Record<string, unknown> },
    ctx.wsUrl,
    options.signal,
  );
  try {
    for (;;) {
      const out = await attempt.next();
      if (out.kind === 'data') yield out.data;
      else if (out.kind === 'complete') return;
      else if (out.kind === 'aborted') throw abortError(out.reason);
      else throw out.error;
    }
  } finally {
    attempt.close();
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal.reason);
}

function abortError(reason: unknown): unknown {
  if (reason !== undefined) return reason;
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  return err;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
