import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logger';
import type { Context, Viewer } from './context';
import { createLoaders, type Loaders } from './loaders';
import type { Services } from './services';
import { AppError, ErrorCode, toAppError, unauthenticated } from './errors';
import { Deadline } from './operation-deadline';

export interface ContextDeps {
  orm: MikroORM;
  services: Services;
  logger: Logger;
}

/** Who a bearer token names, or why it names nobody. */
export interface Authentication {
  viewer?: Viewer;
  authError?: AppError;
}

/**
 * Authenticates a bearer token. Failures are remembered, not thrown:
 * anonymous-safe fields still work and protected ones report why.
 */
export async function authenticate(
  deps: ContextDeps,
  em: () => EntityManager,
  authorization: string | undefined,
  clientIp?: string,
  requestId?: string,
): Promise<Authentication> {
  // An address past its limit of failed authentications is refused before its token is even looked at.
  const refused = deps.services.authFailures.refusal(clientIp);
  if (refused) return { authError: refused };
  try {
    const token = bearer(authorization);
    return { viewer: token ? await deps.services.auth.authenticate(em(), token) : undefined };
  } catch (err) {
    const logger = requestId ? deps.logger.child({ requestId }) : deps.logger;
    // A key that could not be checked (database down, pool exhausted) is not a bad key: a client
    // told UNAUTHENTICATED might throw a good one away, so it hears SERVICE_UNAVAILABLE and retries.
    let authError = toAppError(err) ?? new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'Authentication could not be checked right now; retry the request');
    if (!(err instanceof AppError)) logger.error({ err }, 'authentication error');
    else if (authError.code === ErrorCode.UNAUTHENTICATED) authError = await deps.services.authFailures.failed(clientIp, authError, logger);
    return { authError };
  }
}

/** The per-request context of an HTTP request: authenticated with the request's own entity manager. */
export async function buildContext(
  deps: ContextDeps,
  authorization: string | undefined,
  requestId?: string,
  deadline?: Deadline,
  clientIp?: string,
): Promise<Context> {
  const ctx = createContext(deps, {}, { requestId, deadline, clientIp });
  const auth = await authenticate(deps, () => ctx.em, authorization, clientIp, requestId);
  ctx.viewer = auth.viewer;
  ctx.authError = auth.authError;
  return ctx;
}

/** What a lazy context holds until asked: each part is made by the first resolver that reads it. */
interface LazyParts {
  deps: ContextDeps;
  requestId?: string;
  em?: EntityManager;
  loaders?: Loaders;
  logger?: Logger;
  deadline?: Deadline;
}

/** Non-enumerable: a copy of the context (`{ ...ctx }`) takes the values, never the parts themselves. */
const PARTS = Symbol('lazy context parts');

function partsOf(ctx: object): LazyParts {
  return (ctx as { [PARTS]: LazyParts })[PARTS];
}

function lazyParts(ctx: object): LazyParts | undefined {
  return (ctx as { [PARTS]?: LazyParts })[PARTS];
}

/**
 * The lazy members, defined as own enumerable accessors so a copy
 * (`{ ...ctx, em }`, as transactions make) takes their values like plain
 * fields. The functions are shared: a context costs its object and its
 * parts, not a closure per member.
 */
const LAZY: PropertyDescriptorMap = {
  requestId: {
    enumerable: true,
    get(this: object) {
      const p = partsOf(this);
      return (p.requestId ??= randomUUID());
    },
  },
  em: {
    enumerable: true,
    get(this: object) {
      const p = partsOf(this);
      return (p.em ??= p.deps.orm.em.fork());
    },
    set(this: object, em: EntityManager) {
      const p = partsOf(this);
      p.em = em;
      p.loaders = undefined;
    },
  },
  loaders: {
    enumerable: true,
    get(this: Context) {
      const p = partsOf(this);
      return (p.loaders ??= createLoaders(this.em));
    },
    set(this: object, loaders: Loaders) {
      partsOf(this).loaders = loaders;
    },
  },
  logger: {
    enumerable: true,
    get(this: Context) {
      const p = partsOf(this);
      return (p.logger ??= p.deps.logger.child({ requestId: this.requestId }));
    },
  },
  deadline: {
    enumerable: true,
    get(this: object) {
      const p = partsOf(this);
      return (p.deadline ??= new Deadline());
    },
    set(this: object, deadline: Deadline) {
      partsOf(this).deadline = deadline;
    },
  },
};

/**
 * A context whose entity manager, loaders, logger, request id and deadline
 * are created when first read: a subscription that never reads them (every
 * `runEvents`) holds none of them.
 */
export function createContext(deps: ContextDeps, auth: Authentication, opts: { requestId?: string; deadline?: Deadline; clientIp?: string } = {}): Context {
  const ctx = { viewer: auth.viewer, authError: auth.authError, clientIp: opts.clientIp, services: deps.services };
  const p: LazyParts = { deps, requestId: opts.requestId, deadline: opts.deadline };
  Object.defineProperty(ctx, PARTS, { value: p });
  return Object.defineProperties(ctx, LAZY) as unknown as Context;
}

/**
 * Forgets what a long-lived context made for one execution (its entity
 * manager with everything it loaded, loaders with their caches, the
 * execution's deadline): the next execution, an event of the same
 * subscription, gets fresh ones when it asks, so nothing stale is served and
 * nothing is held between events.
 */
export function releaseRequestState(ctx: Context): void {
  const p = lazyParts(ctx);
  if (!p) return;
  p.em = undefined;
  p.loaders = undefined;
  p.deadline = undefined;
}

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw unauthenticated('Authorization must be "Bearer <api key or JWT>"');
  return match[1];
}

/**
 * A subscription keeps one context for its whole life; each event gets a
 * fresh entity manager and loaders so nothing stale is served.
 */
export function renewForEvent(ctx: Context): Context {
  if (lazyParts(ctx)) releaseRequestState(ctx);
  else {
    ctx.em = ctx.em.fork({ clear: true });
    ctx.loaders = createLoaders(ctx.em);
  }
  return ctx;
}
