import type { EntityManager } from '@mikro-orm/postgresql';
import { errors as joseErrors, jwtVerify } from 'jose';
import { validate as isUuid } from 'uuid';
import type { Viewer } from '../../server/context';
import { unauthenticated } from '../../server/errors';
import { ApiKey } from './api-key.entity';
import { User } from './user.entity';
import { hashApiKey, looksLikeApiKey } from './api-key';

/** lastUsedAt is informational; writing it at most once a minute keeps reads read-only. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Turns a bearer token (API key or HS256 JWT whose `sub` is a user id) into a
 * viewer. Every failure is UNAUTHENTICATED with a message that says why.
 */
export class AuthService {
  private readonly jwtKey?: Uint8Array;

  constructor(jwtSecret?: string) {
    this.jwtKey = jwtSecret ? new TextEncoder().encode(jwtSecret) : undefined;
  }

  async authenticate(em: EntityManager, token: string | undefined): Promise<Viewer | undefined> {
    if (!token) return undefined;
    return looksLikeApiKey(token) ? this.fromApiKey(em, token) : this.fromJwt(em, token);
  }

  private async fromApiKey(em: EntityManager, token: string): Promise<Viewer> {
    const key = await em.findOne(ApiKey, { hash: hashApiKey(token) }, { populate: ['user'] });
    if (!key) throw unauthenticated('Unknown API key');
    if (key.revokedAt) throw unauthenticated('This API key was revoked');
    const now = Date.now();
    if (!key.lastUsedAt || now - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      // Fire and forget on its own fork: a failed bookkeeping write must not fail the request.
      void em
        .fork()
        .nativeUpdate(ApiKey, { id: key.id }, { lastUsedAt: new Date(now) })
        .catch(() => undefined);
    }
    const user = key.user;
    return { id: user.id, email: user.email, role: user.role };
  }

  private async fromJwt(em: EntityManager, token: string): Promise<Viewer> {
    if (!this.jwtKey) throw unauthenticated('JWT authentication is not enabled on this server (JWT_SECRET unset)');
    let sub: string | undefined;
    try {
      const { payload } = await jwtVerify(token, this.jwtKey, { algorithms: ['HS256'] });
      sub = payload.sub;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthenticated('Token expired');
      throw unauthenticated('Invalid token');
    }
    if (!sub || !isUuid(sub)) throw unauthenticated('Token has no valid subject');
    const user = await em.findOne(User, { id: sub });
    if (!user) throw unauthenticated('Token subject is not a user');
    return { id: user.id, email: user.email, role: user.role };
  }
}
