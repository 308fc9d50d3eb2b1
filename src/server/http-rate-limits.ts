import { GraphQLError, getOperationAST, parse, type GraphQLFormattedError } from 'graphql';
import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import type { RequestHandler } from 'express';
import type { Context } from './context';
import { AppError, ErrorCode } from './errors';
import { operationDraws, withoutStack, type RateLimits } from './rate-limit';

type OperationClass = 'queries' | 'mutations';

/** A refusal remembered until its window ends: the credential, the class, and what the client was told. */
interface Refusal {
  until: number;
  message: string;
  details: Record<string, unknown>;
}

/** Flooding credentials remembered at once on this node; past it the oldest is forgotten (it is only a shortcut). */
const MAX_REMEMBERED = 10_000;

/**
 * The per-class limits of HTTP operations, decided in one place: the Apollo
 * plugin, once Apollo knows the operation's type and before anything
 * executes. A refused operation answers 429 with a Retry-After header.
 * Run-starting fields draw from their own limit as they resolve
 * (`RateLimit('runs')`); their refusals, partial answers of a 200 response,
 * get the same header here.
 *
 * `shortcut` keeps a flood from costing more than its refusal: a credential
 * refused for a class is remembered on this node until its window ends, and
 * its next requests of that class are answered before authentication (a
 * database query) and before Apollo. It never refuses what the limiter did
 * not: it replays the limiter's own answer, counting down `retryAfterMs`.
 */
export function createHttpRateLimits(limits: RateLimits) {
  const refused = new Map<string, Partial<Record<OperationClass, Refusal>>>();

  const remember = (authorization: string, kind: OperationClass, err: AppError) => {
    const entry = refused.get(authorization) ?? {};
    refused.delete(authorization); // re-inserted last: the Map's order is then oldest first
    entry[kind] = { until: Date.now() + Number(err.details.retryAfterMs), message: err.message, details: err.details };
    refused.set(authorization, entry);
    if (refused.size > MAX_REMEMBERED) refused.delete(refused.keys().next().value as string);
  };

  const listener: GraphQLRequestListener<Context> = {
    async didResolveOperation({ contextValue, operation, request }) {
      if (!operation) return; // Apollo refuses a document without the named operation itself.
      const kind = operation.operation === 'mutation' ? 'mutations' : 'queries';
      try {
        await limits.consume(operationDraws(kind, contextValue.viewer, contextValue.clientIp));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        const authorization = request.http?.headers.get('authorization');
        if (authorization && contextValue.viewer) remember(authorization, kind, err);
        throw withoutStack(() => new GraphQLError(err.message, { originalError: err, extensions: { http: { status: 429 } } }));
      }
    },
    async willSendResponse({ response }) {
      if (response.body.kind !== 'single') return;
      const waitMs = retryAfterMs(response.body.singleResult.errors);
      if (waitMs !== undefined) response.http.headers.set('retry-after', String(Math.ceil(waitMs / 1000)));
    },
  };

  const shortcut: RequestHandler = (req, res, next) => {
    const authorization = req.headers.authorization;
    const entry = authorization ? refused.get(authorization) : undefined;
    if (!entry) return next();
    const kind = operationClass(req.body);
    const refusal = kind && entry[kind];
    const waitMs = refusal ? refusal.until - Date.now() : 0;
    if (!refusal || waitMs <= 0) return next();
    const retryAfter = Math.ceil(waitMs);
    res
      .status(429)
      .set('retry-after', String(Math.ceil(retryAfter / 1000)))
      .json({ errors: [{ message: refusal.message, extensions: { ...refusal.details, code: ErrorCode.RATE_LIMITED, retryAfterMs: retryAfter } }] });
  };

  return { plugin: { requestDidStart: async () => listener } satisfies ApolloServerPlugin<Context>, shortcut };
}

/** The class of a JSON request's operation, or undefined when it cannot be told (Apollo then answers as usual). */
function operationClass(body: unknown): OperationClass | undefined {
  const { query, operationName } = (body ?? {}) as { query?: unknown; operationName?: unknown };
  if (typeof query !== 'string' || query.length > 10_000) return undefined;
  try {
    const operation = getOperationAST(parse(query, { noLocation: true, maxTokens: 2_000 }), typeof operationName === 'string' ? operationName : undefined);
    return operation ? (operation.operation === 'mutation' ? 'mutations' : 'queries') : undefined;
  } catch {
    return undefined;
  }
}

function retryAfterMs(errors: readonly GraphQLFormattedError[] | undefined): number | undefined {
  let wait: number | undefined;
  for (const e of errors ?? []) {
    const ms = e.extensions?.code === 'RATE_LIMITED' ? e.extensions.retryAfterMs : undefined;
    if (typeof ms === 'number') wait = Math.max(wait ?? 0, ms);
  }
  return wait;
}
