import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RequestHandler } from 'express';
import { getOperationAST, type DocumentNode, type GraphQLFormattedError, type OperationDefinitionNode } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { ConnectionInitMessage, ServerOptions } from 'graphql-ws';
import type { Logger } from '../logger';
import type { Context } from '../server/context';
import { requestScope, type RequestScope } from './request-scope';
import { operationFinished, operationLabel, wsConnection, wsOperation, type Transport } from './metrics';
import { SpanKind, SpanStatusCode, activeTracer, extractContext, tracingEnabled, withSpan, type Span } from './tracing';

/*
 * One access line, one metric sample and (with tracing) one server span per
 * GraphQL operation, over HTTP and over graphql-ws alike. Over HTTP an express
 * middleware opens the record and an Apollo plugin fills in what only Apollo
 * knows; over WebSocket the graphql-ws hooks do both.
 */

/** What is known about one operation by the time it ends. */
class OperationRecord implements RequestScope {
  operation?: string;
  type = 'unknown';
  outcome?: string;
  userId?: string;
  /** graphql-ws: the operation reached execution, so graphql-ws reports its end through onComplete. */
  executing = false;
  span?: Span;
  readonly startedAt = performance.now();

  constructor(
    public requestId: string,
    readonly transport: Transport,
  ) {}

  describe(document: DocumentNode | undefined, operationName: string | null | undefined, operation?: OperationDefinitionNode): void {
    const op = operation ?? (document ? (getOperationAST(document, operationName) ?? undefined) : undefined);
    if (op) this.type = op.operation;
    this.operation = operationName ?? op?.name?.value ?? firstField(op) ?? this.operation;
  }
}

function firstField(op: OperationDefinitionNode | undefined): string | undefined {
  const first = op?.selectionSet.selections.find((s) => s.kind === 'Field');
  return first?.kind === 'Field' ? first.name.value : undefined;
}

function firstCode(errors: readonly { extensions?: Record<string, unknown> }[] | undefined | void): string | undefined {
  if (!errors?.length) return undefined;
  const code = errors[0].extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}

/** What an answer that never reached Apollo (a refusal before it, a body it could not read) says by its status. */
function outcomeOfStatus(status: number, finished: boolean): string {
  if (!finished) return 'OPERATION_CANCELLED';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'INTERNAL_SERVER_ERROR';
  if (status >= 400) return 'BAD_USER_INPUT';
  return 'ok';
}

function finish(logger: Logger, rec: OperationRecord, extra: Record<string, unknown> = {}): void {
  const seconds = (performance.now() - rec.startedAt) / 1000;
  const operation = operationLabel(rec.operation);
  const outcome = rec.outcome ?? 'ok';
  operationFinished(rec.transport, rec.type, operation, outcome, seconds);
  if (rec.span) {
    rec.span.updateName(`${rec.type === 'unknown' ? 'graphql' : rec.type} ${operation}`);
    rec.span.setAttributes({
      'graphql.operation.type': rec.type,
      'graphql.operation.name': operation,
      'parley.outcome': outcome,
      ...(rec.userId ? { 'enduser.id': rec.userId } : {}),
    });
    if (outcome === 'INTERNAL_SERVER_ERROR' || outcome === 'SERVICE_UNAVAILABLE') rec.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    rec.span.end();
  }
  logger.info(
    {
      requestId: rec.requestId,
      transport: rec.transport,
      operation: rec.operation ?? 'unknown',
      type: rec.type,
      durationMs: Math.round(seconds * 10_000) / 10,
      outcome,
      userId: rec.userId,
      ...extra,
    },
    'graphql operation',
  );
}

/**
 * Express middleware for POST /graphql, after the body parser and before
 * anything that may answer (the rate-limit shortcut, Apollo): the request's
 * access line is written when its response closes, whoever answered it.
 */
export function observeHttpOperations(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const rec = new OperationRecord(String(res.locals.requestId ?? randomUUID()), 'http');
    const body = req.body as { operationName?: unknown } | undefined;
    if (typeof body?.operationName === 'string') rec.operation = body.operationName;
    res.once('close', () => {
      rec.outcome ??= outcomeOfStatus(res.statusCode, res.writableFinished);
      rec.span?.setAttribute('http.response.status_code', res.statusCode);
      finish(logger, rec, { status: res.statusCode });
    });
    if (!tracingEnabled()) return requestScope.run(rec, next);
    // A caller's traceparent header makes this request part of its trace.
    const parent = extractContext(req.headers);
    rec.span = activeTracer().startSpan(
      `${req.method} /graphql`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.originalUrl.split('?')[0], 'parley.request_id': rec.requestId } },
      parent,
    );
    withSpan(rec.span, () => requestScope.run(rec, next), parent);
  };
}

/** Fills in the operation's name, type, outcome and user; the middleware above writes it out. */
export const operationsPlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    const rec = requestScope.getStore();
    if (!(rec instanceof OperationRecord)) return; // not through the middleware (executeOperation)
    return {
      async willSendResponse({ document, operation, operationName, request, response, contextValue }) {
        rec.describe(document, operationName ?? request.operationName, operation);
        rec.userId = contextValue?.viewer?.id;
        rec.outcome = (response.body.kind === 'single' ? firstCode(response.body.singleResult.errors) : undefined) ?? 'ok';
      },
    };
  },
};

/**
 * The graphql-ws options with each operation observed: connections and open
 * operations counted, an access line when one ends (for a subscription, its
 * whole life), and error lines formatted within the operation's request id.
 * Per event only a check for errors is added.
 */
export function observeWsOperations<E>(logger: Logger, options: ServerOptions<ConnectionInitMessage['payload'], E>): ServerOptions<ConnectionInitMessage['payload'], E> {
  const { onConnect, onClose, onSubscribe, onNext, onError, onComplete, context } = options;
  const sockets = new WeakMap<object, Map<string, OperationRecord>>();
  const counted = new WeakSet<object>();
  const operations = (ctx: object) => {
    let ops = sockets.get(ctx);
    if (!ops) sockets.set(ctx, (ops = new Map()));
    return ops;
  };
  const end = (ctx: object, id: string) => {
    const ops = sockets.get(ctx);
    const rec = ops?.get(id);
    if (!rec) return;
    ops!.delete(id);
    wsOperation(-1);
    finish(logger, rec);
  };

  return {
    ...options,
    onConnect: async (ctx) => {
      // The upgrade is the connection's request: what its authentication logs carries an id too.
      const header = (ctx.extra as { request?: { headers: Record<string, unknown> } }).request?.headers['x-request-id'];
      const scope = { requestId: typeof header === 'string' ? header : randomUUID() };
      const permitted = await requestScope.run(scope, async () => onConnect?.(ctx));
      if (permitted !== false) {
        counted.add(ctx);
        wsConnection(1);
      }
      return permitted;
    },
    onClose: async (ctx, code, reason) => {
      try {
        await onClose?.(ctx, code, reason);
      } finally {
        for (const id of [...(sockets.get(ctx)?.keys() ?? [])]) end(ctx, id);
        if (counted.delete(ctx)) wsConnection(-1);
      }
    },
    onSubscribe: async (ctx, id, payload) => {
      // An id reused while its earlier operation is still on record: that one ended unseen.
      end(ctx, id);
      const rec = new OperationRecord(randomUUID(), 'ws');
      rec.operation = payload.operationName ?? undefined;
      operations(ctx).set(id, rec);
      wsOperation(1);
      const result = await onSubscribe?.(ctx, id, payload);
      if (result && !Array.isArray(result)) {
        const args = result as { document: DocumentNode; operationName?: string | null };
        rec.describe(args.document, args.operationName);
      }
      return result;
    },
    context: async (ctx, id, payload, args) => {
      const value = typeof context === 'function' ? await context(ctx, id, payload, args) : context;
      const rec = sockets.get(ctx)?.get(id);
      if (rec) {
        rec.executing = true;
        rec.describe(args.document, args.operationName);
        const c = value as Partial<Context> | undefined;
        if (c?.requestId) rec.requestId = c.requestId;
        rec.userId = c?.viewer?.id;
      }
      return value;
    },
    onNext: (ctx, id, payload, args, result) => {
      if (!result.errors) return onNext?.(ctx, id, payload, args, result);
      const rec = sockets.get(ctx)?.get(id);
      const formatted = rec ? requestScope.run(rec, () => onNext?.(ctx, id, payload, args, result)) : onNext?.(ctx, id, payload, args, result);
      if (rec) void Promise.resolve(formatted).then((out) => (rec.outcome ??= firstCode(out?.errors ?? (result.errors as readonly GraphQLFormattedError[]))));
      return formatted;
    },
    onError: async (ctx, id, payload, errors) => {
      const rec = sockets.get(ctx)?.get(id);
      const formatted = rec ? await requestScope.run(rec, async () => onError?.(ctx, id, payload, errors)) : await onError?.(ctx, id, payload, errors);
      if (rec) {
        rec.outcome ??= firstCode(formatted ?? (errors as readonly GraphQLFormattedError[]));
        // Refused before execution (limits, validation): graphql-ws reports no completion for it.
        if (!rec.executing) end(ctx, id);
      }
      return formatted;
    },
    onComplete: async (ctx, id, payload) => {
      try {
        await onComplete?.(ctx, id, payload);
      } finally {
        end(ctx, id);
      }
    },
  };
}
