/** Postgres SQLSTATEs that say "not now" rather than "not ever": connection class 08, shutdown/startup, too many connections, serialization. */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01']);
const TRANSIENT_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/** What pg and knex say when the server went away, in words only (they set no code). */
const TRANSIENT_MESSAGE = /connection terminated|terminating connection|timeout acquiring a connection|connection .*(?:closed|ended|lost)|client has encountered a connection error|the database system is (?:starting up|shutting down)/i;

/**
 * Whether a database error means Postgres was briefly unreachable, so the same
 * statement may succeed later. Constraint violations, syntax errors and the
 * like are never transient: retrying them would only delay the failure.
 */
export function isTransientDbError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string' && (code.startsWith('08') || TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SOCKET_CODES.has(code))) return true;
    if (name === 'KnexTimeoutError' || name === 'ConnectionException') return true;
    if (typeof message === 'string' && TRANSIENT_MESSAGE.test(message)) return true;
  }
  return false;
}

export interface DbRetryPolicy {
  /** Total time to keep trying after the first failure; 0 = no retry. */
  budgetMs: number;
  /** First pause; doubles up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Told about every failure that will be retried. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `fn`, and again with exponential backoff while it fails transiently and
 * the budget lasts. `fn` must be safe to repeat: a statement whose commit was
 * lost with its connection may have taken effect (callers make it conditional
 * or check afterwards).
 */
export async function withDbRetry<T>(policy: DbRetryPolicy, fn: (attempt: number) => Promise<T>): Promise<T> {
  const started = Date.now();
  const base = policy.baseDelayMs ?? 250;
  const max = policy.maxDelayMs ?? 4_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const delay = Math.min(max, base * 2 ** (attempt - 1));
      if (!isTransientDbError(err) || Date.now() - started + delay > policy.budgetMs) throw err;
      policy.onRetry?.(err, attempt, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
