import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ProviderError, maskSecrets, type ProviderErrorCode } from './provider.types';
import { cancelled } from './abortable-sleep';

/**
 * Maps what the openai SDK throws to ProviderError. Kept apart from the
 * provider so the table of HTTP statuses can be read (and changed) in one place.
 */
export function fromSdkError(err: unknown, provider: string): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof APIUserAbortError) return cancelled();
  if (err instanceof APIConnectionTimeoutError) {
    return new ProviderError('UPSTREAM_TIMEOUT', `${provider}: no response before the request timeout`, {
      retryable: true,
      cause: err,
    });
  }
  if (err instanceof APIConnectionError) {
    return new ProviderError('UPSTREAM_UNAVAILABLE', `${provider}: connection failed (${describeCause(err)})`, {
      retryable: true,
      cause: err,
    });
  }
  if (err instanceof APIError) return fromApiError(err, provider);
  // The SDK re-throws JSON.parse's error untouched when a `data:` line is not JSON. Checked by name, not
  // instanceof, for the same cross-realm reason as describeCause.
  if (typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'SyntaxError') {
    return new ProviderError('MALFORMED_STREAM', `${provider}: stream chunk is not valid JSON (${describeCause(err)})`, {
      retryable: false,
      cause: err,
    });
  }
  return streamDied(err, provider);
}

/** The body stopped mid-way (undici says `TypeError: terminated`); a fresh request usually works. */
export function streamDied(err: unknown, provider: string): ProviderError {
  const detail = err === undefined ? '' : `: ${describeCause(err)}`;
  return new ProviderError('TRUNCATED_STREAM', `${provider}: stream ended before the model finished${detail}`, {
    retryable: true,
    cause: err,
  });
}

function fromApiError(err: APIError, provider: string): ProviderError {
  const status = err.status;
  // The upstream's text is for the operator's log only, and even there its secrets are masked.
  const message = maskSecrets(`${provider}: ${err.message}`);
  const type = typeof err.type === 'string' ? err.type : undefined;
  const make = (code: ProviderErrorCode, retryable: boolean, retryAfter?: number) =>
    new ProviderError(code, message, { status, type, retryable, retryAfterMs: retryAfter });
  if (status === undefined) {
    // An `{"error": …}` event inside a 200 stream: OpenAI sends these for server-side failures mid-generation.
    const kind = `${err.type ?? ''} ${err.code ?? ''}`;
    if (/rate.?limit/i.test(kind)) return make('UPSTREAM_RATE_LIMITED', true);
    return make('UPSTREAM_ERROR', kind.trim() === '' || /server|overload|timeout/i.test(kind));
  }
  if (status === 429) return make('UPSTREAM_RATE_LIMITED', true, retryAfterMs(err.headers));
  if (status === 502 || status === 503) return make('UPSTREAM_UNAVAILABLE', true, retryAfterMs(err.headers));
  if (status === 504 || status === 408) return make('UPSTREAM_TIMEOUT', true);
  if (status >= 500 || status === 409) return make('UPSTREAM_ERROR', true);
  // Compatible servers answer 404 for a model they do not serve; the route itself always exists.
  if (status === 404) return make('UNKNOWN_MODEL', false);
  if (status === 400 || status === 413 || status === 422) return make('BAD_REQUEST', false);
  // 401/403 and the rest: a configuration problem an operator must fix, never worth retrying.
  return make('UPSTREAM_ERROR', false);
}

/** Honours `retry-after-ms` (OpenAI) and `retry-after` in seconds or as an HTTP date. */
function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms)) return Math.max(0, ms);
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Duck-typed: errors from Node's bundled undici fail `instanceof Error` when they cross realms (Jest's vm). */
function describeCause(err: unknown): string {
  const message = (e: unknown) =>
    typeof e === 'object' && e !== null && 'message' in e ? String(e.message) : String(e);
  const cause = typeof err === 'object' && err !== null && 'cause' in err && err.cause ? `: ${message(err.cause)}` : '';
  return `${message(err)}${cause}`;
}
