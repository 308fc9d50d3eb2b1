import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../logger';
import type { UserRole } from '../modules/users/user.entity';
import type { Loaders } from './loaders';
import type { Services } from './services';
import type { AppError } from './errors';
import type { Deadline } from './operation-deadline';

/** The authenticated caller. Plain data so it survives JSON and is cheap to pass. */
export interface Viewer {
  id: string;
  email: string;
  role: UserRole;
  /** The API key this request authenticated with (absent for a JWT): rate limits count per key too. */
  apiKeyId?: string;
}

/**
 * Per-request state: one forked entity manager, the viewer, and request-scoped
 * DataLoaders. Services receive it first; nothing per-request is global.
 */
export interface Context {
  requestId: string;
  em: EntityManager;
  viewer?: Viewer;
  /** The client's address (the socket's peer, or X-Forwarded-For under PARLEY_TRUST_PROXY): anonymous requests are limited by it. */
  clientIp?: string;
  /** Why the bearer token was rejected, reported when a field needs a viewer. */
  authError?: AppError;
  loaders: Loaders;
  services: Services;
  logger: Logger;
  /**
   * Its signal fires when the operation must stop (execution past its time,
   * HTTP client gone); every resolver checks it before starting
   * (server/operation-deadline.ts). Over graphql-ws each execution gets a new
   * one, so each event of a subscription has the full time.
   */
  deadline: Deadline;
}
