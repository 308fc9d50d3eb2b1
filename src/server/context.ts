import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../logger';
import type { UserRole } from '../modules/users/user.entity';
import type { Loaders } from './loaders';
import type { Services } from './services';
import type { AppError } from './errors';

/** The authenticated caller. Plain data so it survives JSON and is cheap to pass. */
export interface Viewer {
  id: string;
  email: string;
  role: UserRole;
}

/**
 * Per-request state: one forked entity manager, the viewer, and request-scoped
 * DataLoaders. Services receive it first; nothing per-request is global.
 */
export interface Context {
  requestId: string;
  em: EntityManager;
  viewer?: Viewer;
  /** Why the bearer token was rejected, reported when a field needs a viewer. */
  authError?: AppError;
  loaders: Loaders;
  services: Services;
  logger: Logger;
}
