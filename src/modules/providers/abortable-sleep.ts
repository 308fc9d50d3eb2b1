import { ProviderError } from './provider.types';

/**
 * Waits `ms`, but rejects with `ProviderError('CANCELLED')` the moment the
 * signal aborts: a cancelled run must not sit out a retry backoff or a demo
 * token delay before it notices.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(cancelled());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The one shape of "the caller gave up", so every provider reports it identically. */
export function cancelled(): ProviderError {
  return new ProviderError('CANCELLED', 'The request was cancelled', { retryable: false });
}
