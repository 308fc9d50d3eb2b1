import { print, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ParleyError, fromGraphQLErrors, type ParleyGraphQLError } from './errors.js';

/** The part of `fetch` the SDK uses: the global one, undici's or node-fetch all fit. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

export interface RequestOptions {
  signal?: AbortSignal;
  /** Extra headers for this request. */
  headers?: Record<string, string>;
}

/** Variables may be omitted when the operation has no required ones. */
export type VariablesArgs<TVars> = Record<string, never> extends TVars
  ? [variables?: TVars, options?: RequestOptions]
  : [variables: TVars, options?: RequestOptions];

export interface OperationText {
  query: string;
  operationName?: string;
  operation: 'query' | 'mutation' | 'subscription';
}

// Documents are module-level constants: print each one once.
const printed = new WeakMap<DocumentNode, OperationText>();

export function operationText(doc: DocumentNode): OperationText {
  let text = printed.get(doc);
  if (!text) {
    const op = doc.definitions.find((d) => d.kind === 'OperationDefinition');
    if (!op || op.kind !== 'OperationDefinition') throw new TypeError('The document has no operation');
    text = { query: print(doc), operationName: op.name?.value, operation: op.operation };
    printed.set(doc, text);
  }
  return text;
}

export interface HttpTransportOptions {
  url: string;
  fetch: FetchLike;
  headers?: Record<string, string>;
  /** `Bearer …` or nothing; asked before every request (tokens may rotate). */
  authorization: () => Promise<string | undefined>;
}

export type Requester = <TResult, TVars>(doc: TypedDocumentNode<TResult, TVars>, ...args: VariablesArgs<TVars>) => Promise<TResult>;

/** Queries and mutations over HTTP POST; errors become {@link ParleyError}s. */
export function createRequester(opts: HttpTransportOptions): Requester {
  // Called as a plain function: browsers refuse `fetch` called as a method of another object.
  const doFetch = opts.fetch;
  return async function request<TResult, TVars>(
    doc: TypedDocumentNode<TResult, TVars>,
    ...[variables, init]: VariablesArgs<TVars>
  ): Promise<TResult> {
    const { query, operationName, operation } = operationText(doc);
    if (operation === 'subscription') {
      throw new TypeError(`${operationName ?? 'subscription'}: subscriptions travel over WebSocket: use parley.subscribe() or parley.runs.stream()`);
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...opts.headers,
      ...init?.headers,
    };
    const authorization = await opts.authorization();
    if (authorization) headers.authorization = authorization;

    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await doFetch(opts.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, operationName, variables: variables ?? {} }),
        signal: init?.signal,
      });
    } catch (cause) {
      if (init?.signal?.aborted) throw cause;
      throw new ParleyError(`Request to ${opts.url} failed`, { code: 'NETWORK_ERROR', cause });
    }

    let body: { data?: TResult | null; errors?: ParleyGraphQLError[] } | undefined;
    try {
      body = (await res.json()) as typeof body;
    } catch (cause) {
      if (init?.signal?.aborted) throw cause;
      const code = res.ok ? 'BAD_RESPONSE' : `HTTP_${res.status}`;
      throw new ParleyError(`Unreadable response (HTTP ${res.status})`, { code, status: res.status, cause });
    }

    const errors = body?.errors ?? [];
    if (errors.length > 0) {
      throw fromGraphQLErrors(errors, { status: res.status, data: body?.data, fallbackCode: `HTTP_${res.status}` });
    }
    if (!res.ok || body?.data == null) {
      const code = res.ok ? 'BAD_RESPONSE' : `HTTP_${res.status}`;
      throw new ParleyError(`No data in the response (HTTP ${res.status})`, { code, status: res.status });
    }
    return body.data;
  };
}
