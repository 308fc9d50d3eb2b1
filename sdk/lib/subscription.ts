import { ParleyError, fromGraphQLErrors, type ParleyGraphQLError } from './errors.js';
import type { SubscribeClient } from './socket.js';

/** What one subscription attempt produced next. */
export type Outcome<T> =
  | { kind: 'data'; data: T }
  | { kind: 'complete' }
  /** The server refused or ended the operation with GraphQL errors: final. */
  | { kind: 'errors'; error: ParleyError }
  /** The socket closed or could not connect; `retryable` says whether trying again can help. */
  | { kind: 'dropped'; error: ParleyError; retryable: boolean }
  | { kind: 'aborted'; reason: unknown };

interface CloseLike {
  code: number;
  reason: string;
}

const isCloseLike = (err: unknown): err is CloseLike =>
  typeof err === 'object' && err !== null && typeof (err as CloseLike).code === 'number' && 'reason' in err;

/**
 * Close codes after which reconnecting cannot help: protocol and policy
 * violations, and graphql-ws refusals (4400 bad request, 4401/4403 refused
 * credentials, 4406 subprotocol, 4409 duplicate id, 4429 too many inits, 4500
 * server error in connection setup). Everything else (1000 mid-stream, 1001
 * going away, 1006 dropped, 1011–1014 restarts, 4499 ping timeout, …) retries.
 */
const FATAL_CLOSE_CODES = new Set([1002, 1003, 1007, 1008, 1009, 1010, 4400, 4401, 4403, 4406, 4409, 4429, 4500]);

/** Turns whatever graphql-ws hands its sink's `error` into an outcome. */
export function classifySocketError(err: unknown, url: string): Outcome<never> {
  if (Array.isArray(err)) return { kind: 'errors', error: fromGraphQLErrors(err as ParleyGraphQLError[]) };
  if (isCloseLike(err)) {
    const why = `${err.code}${err.reason ? ` ${err.reason}` : ''}`;
    if (err.code === 4403 || err.code === 4401) {
      const error = new ParleyError(`The server refused the WebSocket connection (${why}): check the API key or token`, {
        code: 'UNAUTHENTICATED',
        closeCode: err.code,
      });
      return { kind: 'dropped', error, retryable: false };
    }
    const error = new ParleyError(`The WebSocket to ${url} closed (${why})`, { code: 'CONNECTION_CLOSED', closeCode: err.code, cause: err });
    return { kind: 'dropped', error, retryable: !FATAL_CLOSE_CODES.has(err.code) };
  }
  // A connection that could not be made (refused, DNS, TLS): graphql-ws passes the socket's error event.
  const message = err instanceof Error ? err.message : (err as { message?: unknown } | undefined)?.message;
  const error = new ParleyError(`Could not reach ${url}${typeof message === 'string' && message ? `: ${message}` : ''}`, { code: 'NETWORK_ERROR', cause: err });
  return { kind: 'dropped', error, retryable: true };
}

/**
 * One subscription over a graphql-ws client, pulled one outcome at a time.
 * Results that arrive before they are pulled wait in order; an abort wins over
 * anything still waiting.
 */
export class SubscriptionAttempt<T> {
  private readonly queue: Outcome<T>[] = [];
  private wake: (() => void) | undefined;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    client: SubscribeClient,
    payload: { query: string; operationName?: string; variables?: Record<string, unknown> },
    private readonly url: string,
    private readonly signal?: AbortSignal,
  ) {
    this.signal?.addEventListener('abort', this.onAbort);
    this.unsubscribe = client.subscribe<T>(payload, {
      next: (result) => this.push(toOutcome(result)),
      error: (err) => this.push(classifySocketError(err, this.url)),
      complete: () => this.push({ kind: 'complete' }),
    });
  }

  async next(): Promise<Outcome<T>> {
    for (;;) {
      if (this.signal?.aborted) return { kind: 'aborted', reason: this.signal.reason };
      const item = this.queue.shift();
      if (item) return item;
      if (this.closed) return { kind: 'complete' };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Ends the subscription on the server (when still open) and stops listening. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.unsubscribe();
    this.notify();
  }

  private push(outcome: Outcome<T>): void {
    if (this.closed) return;
    this.queue.push(outcome);
    this.notify();
  }

  private readonly onAbort = () => this.notify();

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

function toOutcome<T>(result: { data?: T | null; errors?: readonly ParleyGraphQLError[] }): Outcome<T> {
  if (result.errors?.length) return { kind: 'errors', error: fromGraphQLErrors(result.errors, { data: result.data }) };
  if (result.data == null) return { kind: 'errors', error: new ParleyError('A subscription result without data', { code: 'BAD_RESPONSE' }) };
  return { kind: 'data', data: result.data };
}
