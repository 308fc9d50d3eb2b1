import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logger';
import type { Context, Viewer } from './context';
import { createLoaders } from './loaders';
import type { Services } from './services';
import { AppError, ErrorCode, toAppError, unauthenticated } from './errors';
import { Deadline } from './operation-deadline';

export interface ContextDeps {
  orm: MikroORM;
  services: Services;
  logger: Logger;
}

/**
 * Builds the per-request context. Authentication failures are remembered, not
 * thrown: anonymous-safe fields still work and protected ones report why.
 */
export async function buildContext(
  deps: ContextDeps,
  authorization: string | undefined,
  requestId?: string,
  deadline = new Deadline(),
  clientIp?: string,
): Promise<Context> {
  const em = deps.orm.em.fork();
  const id = requestId ?? randomUUID();
  const logger = deps.logger.child({ requestId: id });
  let viewer: Viewer | undefined;
  let authError: AppError | undefined;
  // An address past its limit of failed authentications is refused before its token is even looked at.
  const refused = deps.services.authFailures.refusal(clientIp);
  if (refused) authError = refused;
  else {
    try {
      const token = bearer(authorization);
      viewer = await deps.services.auth.authenticate(em, token);
    } catch (err) {
      // A key that could not be checked (database down, pool exhausted) is not a bad key: a client
      // told UNAUTHENTICATED might throw a good one away, so it hears SERVICE_UNAVAILABLE and retries.
      authError = toAppError(err) ?? new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'Authentication could not be checked right now; retry the request');
      if (!(err instanceof AppError)) logger.error({ err }, 'authentication error');
      else if (authError.code === ErrorCode.UNAUTHENTICATED) authError = await deps.services.authFailures.failed(clientIp, authError, logger);
    }
  }
  return { requestId: id, em, viewer, clientIp, authError, loaders: createLoaders(em), services: deps.services, logger, deadline };
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
  ctx.em = ctx.em.fork({ clear: true });
  ctx.loaders = createLoaders(ctx.em);
  return ctx;
}
