import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request an async flow belongs to: an HTTP request, a graphql-ws
 * operation, or the run a request started (a worker executes it under the
 * starting request's id). The logger stamps it on every line logged within,
 * including lines from code that holds only the root logger.
 */
export interface RequestScope {
  requestId: string;
}

export const requestScope = new AsyncLocalStorage<RequestScope>();

export function currentRequestId(): string | undefined {
  return requestScope.getStore()?.requestId;
}
