/** One GraphQL error as the server formats it. */
export interface ParleyGraphQLError {
  message: string;
  path?: ReadonlyArray<string | number>;
  locations?: ReadonlyArray<{ line: number; column: number }>;
  extensions?: { code?: string; [key: string]: unknown };
}

/** `extensions.code` values the server sends (see the README's error table). */
export type ParleyServerErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  | 'CONFLICT'
  | 'EVENTS_EXPIRED'
  | 'EVENTS_LOST'
  | 'QUERY_TOO_COMPLEX'
  | 'OPERATION_TIMEOUT'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

/**
 * Codes the SDK raises itself, when there is no GraphQL error to read one from:
 * - `NETWORK_ERROR`: the request or the socket could not reach the server;
 * - `BAD_RESPONSE`: the server answered something that is not a GraphQL response;
 * - `HTTP_<status>`: an HTTP failure without a GraphQL error body;
 * - `CONNECTION_CLOSED`: the WebSocket closed for good (`closeCode` says why),
 *   or kept dropping past the stream's reconnect attempts;
 * - `EVENTS_OUT_OF_ORDER`: a run stream skipped a `seq` (never expected from a
 *   Parley server: the SDK stops rather than hide a gap).
 */
export type ParleyClientErrorCode = 'NETWORK_ERROR' | 'BAD_RESPONSE' | 'CONNECTION_CLOSED' | 'EVENTS_OUT_OF_ORDER' | `HTTP_${number}`;

// `string & {}` keeps editor completion for the known codes while accepting codes newer servers add.
export type ParleyErrorCode = ParleyServerErrorCode | ParleyClientErrorCode | (string & {});

export interface ParleyErrorOptions {
  code: ParleyErrorCode;
  /** Every GraphQL error of the response (empty for transport failures). */
  errors?: readonly ParleyGraphQLError[];
  status?: number;
  data?: unknown;
  closeCode?: number;
  runId?: string;
  lastSeq?: number;
  cause?: unknown;
}

/**
 * The one error type of the SDK. `code` is the first GraphQL error's
 * `extensions.code` (`NOT_FOUND`, `BAD_USER_INPUT`, `EVENTS_LOST`, …) or one of
 * the SDK's own codes ({@link ParleyClientErrorCode}).
 */
export class ParleyError extends Error {
  override readonly name = 'ParleyError';
  readonly code: ParleyErrorCode;
  /** Every GraphQL error of the response (empty for transport failures). */
  readonly errors: readonly ParleyGraphQLError[];
  /** HTTP status, when an HTTP response arrived. */
  readonly status?: number;
  /** Whatever data the server returned alongside the errors. */
  readonly data?: unknown;
  /** WebSocket close code, for `CONNECTION_CLOSED` (and `UNAUTHENTICATED` refused at connection). */
  readonly closeCode?: number;
  /** For errors of a run stream: the run. */
  readonly runId?: string;
  /**
   * For errors of a run stream: the last `seq` the stream yielded. Every event up
   * to it was delivered exactly once; `runs.stream(runId, { after: lastSeq })`
   * continues from there when the error was transient.
   */
  readonly lastSeq?: number;

  constructor(message: string, options: ParleyErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.errors = options.errors ?? [];
    this.status = options.status;
    this.data = options.data;
    this.closeCode = options.closeCode;
    this.runId = options.runId;
    this.lastSeq = options.lastSeq;
  }

  /** `extensions` of the first GraphQL error. */
  get extensions(): ParleyGraphQLError['extensions'] {
    return this.errors[0]?.extensions;
  }

  /** `RATE_LIMITED`: how long to wait before retrying, when the server says. */
  get retryAfterMs(): number | undefined {
    const value = this.extensions?.retryAfterMs;
    return typeof value === 'number' ? value : undefined;
  }

  /** `EVENTS_LOST`: the last event the server can vouch for; read `runs.get(runId)` for the rest. */
  get lastSafeSeq(): number | undefined {
    const value = this.extensions?.lastSafeSeq;
    return typeof value === 'number' ? value : undefined;
  }
}

/**
 * True for a {@link ParleyError} (optionally with one of `codes`). Also
 * recognises one thrown by another copy of the SDK (an ESM and a CJS copy in
 * one process), which `instanceof` would not.
 */
export function isParleyError(err: unknown, ...codes: ParleyErrorCode[]): err is ParleyError {
  const like =
    err instanceof ParleyError ||
    (err instanceof Error && err.name === 'ParleyError' && typeof (err as { code?: unknown }).code === 'string');
  return like && (codes.length === 0 || codes.includes((err as ParleyError).code));
}

/** A ParleyError from a response's GraphQL errors (the first one names the code). */
export function fromGraphQLErrors(
  errors: readonly ParleyGraphQLError[],
  extra: Omit<ParleyErrorOptions, 'code' | 'errors'> & { fallbackCode?: ParleyErrorCode } = {},
): ParleyError {
  const { fallbackCode = 'INTERNAL_SERVER_ERROR', ...rest } = extra;
  const first = errors[0];
  return new ParleyError(first?.message ?? 'Unknown GraphQL error', { ...rest, code: first?.extensions?.code ?? fallbackCode, errors });
}
