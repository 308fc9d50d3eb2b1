/**
 * Parley SDK: the typed documents generated from sdk/operations/*.graphql and a
 * minimal client that runs them over HTTP.
 *
 *   const parley = createParleyClient({ url: 'http://localhost:4000/graphql', apiKey });
 *   const { createConversation } = await parley.request(CreateConversationDocument, { input: { title: 'Hi' } });
 *
 * Subscriptions (e.g. ConversationEventsDocument) travel over WebSocket: pass
 * the document to a graphql-ws client; `request` rejects them.
 */
import { print, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

export * from './generated/graphql';
export type { TypedDocumentNode };

/** One GraphQL error as the server formats it. */
export interface ParleyGraphQLError {
  message: string;
  path?: ReadonlyArray<string | number>;
  locations?: ReadonlyArray<{ line: number; column: number }>;
  extensions?: { code?: string; [key: string]: unknown };
}

/**
 * Thrown when a request fails. `code` is the first error's `extensions.code`
 * (`NOT_FOUND`, `BAD_USER_INPUT`, …), or `HTTP_<status>` / `NETWORK_ERROR` /
 * `BAD_RESPONSE` when the server gave no GraphQL error to read it from.
 */
export class ParleyError extends Error {
  override readonly name = 'ParleyError';

  constructor(
    message: string,
    readonly code: string,
    /** Every GraphQL error of the response (empty for transport failures). */
    readonly errors: readonly ParleyGraphQLError[] = [],
    /** HTTP status, when a response arrived. */
    readonly status?: number,
    /** Whatever data the server returned alongside the errors. */
    readonly data?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** `extensions` of the first GraphQL error. */
  get extensions(): ParleyGraphQLError['extensions'] {
    return this.errors[0]?.extensions;
  }
}

export interface ParleyClientOptions {
  /** The GraphQL endpoint, e.g. `http://localhost:4000/graphql`. */
  url: string;
  /** API key or JWT, sent as `Authorization: Bearer …`. */
  apiKey?: string;
  /** A fetch implementation; the global one by default. */
  fetch?: typeof fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** Variables may be omitted when the operation has no required ones. */
type VariablesArgs<TVars> = Record<string, never> extends TVars
  ? [variables?: TVars, options?: RequestOptions]
  : [variables: TVars, options?: RequestOptions];

export interface ParleyClient {
  request<TResult, TVars>(doc: TypedDocumentNode<TResult, TVars>, ...args: VariablesArgs<TVars>): Promise<TResult>;
}

interface OperationText {
  query: string;
  operationName?: string;
  operation: string;
}

// Documents are module-level constants: print each one once.
const printed = new WeakMap<DocumentNode, OperationText>();

function operationText(doc: DocumentNode): OperationText {
  let text = printed.get(doc);
  if (!text) {
    const op = doc.definitions.find((d) => d.kind === 'OperationDefinition');
    if (!op || op.kind !== 'OperationDefinition') throw new TypeError('The document has no operation');
    text = { query: print(doc), operationName: op.name?.value, operation: op.operation };
    printed.set(doc, text);
  }
  return text;
}

export function createParleyClient(options: ParleyClientOptions): ParleyClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  if (!doFetch) throw new TypeError('No fetch implementation: pass `fetch` to createParleyClient');

  async function request<TResult, TVars>(
    doc: TypedDocumentNode<TResult, TVars>,
    ...[variables, init]: VariablesArgs<TVars>
  ): Promise<TResult> {
    const { query, operationName, operation } = operationText(doc);
    if (operation === 'subscription') {
      throw new TypeError(`${operationName ?? 'subscription'}: subscriptions need a WebSocket (graphql-ws) client`);
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...options.headers,
      ...init?.headers,
    };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;

    let res: Response;
    try {
      res = await doFetch(options.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, operationName, variables: variables ?? {} }),
        signal: init?.signal,
      });
    } catch (cause) {
      if (init?.signal?.aborted) throw cause;
      throw new ParleyError(`Request to ${options.url} failed`, 'NETWORK_ERROR', [], undefined, undefined, { cause });
    }

    let body: { data?: TResult | null; errors?: ParleyGraphQLError[] } | undefined;
    try {
      body = (await res.json()) as typeof body;
    } catch (cause) {
      const code = res.ok ? 'BAD_RESPONSE' : `HTTP_${res.status}`;
      throw new ParleyError(`Unreadable response (HTTP ${res.status})`, code, [], res.status, undefined, { cause });
    }

    const errors = body?.errors ?? [];
    if (errors.length > 0) {
      const first = errors[0];
      const code = first.extensions?.code ?? `HTTP_${res.status}`;
      throw new ParleyError(first.message, code, errors, res.status, body?.data);
    }
    if (!res.ok || body?.data == null) {
      const code = res.ok ? 'BAD_RESPONSE' : `HTTP_${res.status}`;
      throw new ParleyError(`No data in the response (HTTP ${res.status})`, code, [], res.status);
    }
    return body.data;
  }

  return { request };
}
