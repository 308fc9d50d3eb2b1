import type { EntityManager } from '@mikro-orm/postgresql';
import { errors as joseErrors, jwtVerify } from 'jose';
import { validate as isUuid } from 'uuid';
import type { Viewer } from '../../server/context';
import { unauthenticated } from '../../server/errors';
import { ApiKey } from './api-key.entity';
import { User, type UserRole } from './user.entity';
import { hashApiKey, looksLikeApiKey } from './api-key';

interface ApiKeyViewerRow {
  id: string;
  revoked_at: Date | null;
  last_used_at: Date | null;
  user_id: string;
  email: string;
  role: UserRole;
}

/** lastUsedAt is informational; writing it at most once a minute keeps reads read-only. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Claims a JWT must carry beside `sub` and `exp`, when configured (JWT_ISSUER, JWT_AUDIENCE). */
export interface JwtClaims {
  issuer?: string;
  audience?: string;
}

/**
 * Turns a bearer token (API key or HS256 JWT whose `sub` is a user id) into a
 * viewer. Every failure is UNAUTHENTICATED with a message that says why.
 * A JWT must expire (`exp`): a token that never does cannot be taken back
 * short of rotating JWT_SECRET for everyone.
 */
export class AuthService {
  private readonly jwtKey?: Uint8Array;

  constructor(
    jwtSecret?: string,
    private readonly claims: JwtClaims = {},
  ) {
    this.jwtKey = jwtSecret ? new TextEncoder().encode(jwtSecret) : undefined;
  }

  async authenticate(em: EntityManager, token: string | undefined): Promise<Viewer | undefined> {
    if (!token) return undefined;
    return looksLikeApiKey(token) ? this.fromApiKey(em, token) : this.fromJwt(em, token);
  }

  /**
   * Every request and every socket authenticates, so this is one plain
   * statement rather than an ORM load of the key and its user.
   */
  private async fromApiKey(em: EntityManager, token: string): Promise<Viewer> {
    const [key] = await em.getConnection().execute<ApiKeyViewerRow[]>(
      `select k.id, k.revoked_at, k.last_used_at, u.id as user_id, u.email, u.role
         from api_keys k join users u on u.id = k.user_id
        where k.hash = ?`,
      [hashApiKey(token)],
    );
    if (!key) throw unauthenticated('Unknown API key');
    if (key.revoked_at) throw unauthenticated('This API key was revoked');
    const now = Date.now();
    if (!key.last_used_at || now - new Date(key.last_used_at).getTime() > LAST_USED_RESOLUTION_MS) {
      // Fire and forget on its own fork: a failed bookkeeping write must not fail the request.
      void em
        .fork()
        .nativeUpdate(ApiKey, { id: key.id }, { lastUsedAt: new Date(now) })
        .catch(() => undefined);
    }
    return { id: key.user_id, email: key.email, role: key.role, apiKeyId: key.id };
  }

  private async fromJwt(em: EntityManager, token: string): Promise<Viewer> {
    if (!this.jwtKey) throw unauthenticated('JWT authentication is not enabled on this server (JWT_SECRET unset)');
    let sub: string | undefined;
    try {
      const { payload } = await jwtVerify(token, this.jwtKey, {
        algorithms: ['HS256'],
        requiredClaims: ['exp'],
        issuer: this.claims.issuer,
        audience: this.claims.audience,
      });
      sub = payload.sub;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthenticated('Token expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed) throw unauthenticated(claimProblem(err.claim, err.reason));
      throw unauthenticated('Invalid token');
    }
    if (!sub || !isUuid(sub)) throw unauthenticated('Token has no valid subject');
    const user = await em.findOne(User, { id: sub });
    if (!user) throw unauthenticated('Token subject is not a user');
    return { id: user.id, email: user.email, role: user.role };
  }
}

/** Says which claim failed without echoing the token's own values. */
function claimProblem(claim: string, reason: string): string {
  if (reason === 'missing') return claim === 'exp' ? 'Token has no expiry (exp); tokens must expire' : `Token has no ${claim} claim`;
  if (claim === 'iss') return 'Token issuer (iss) is not accepted here';
  if (claim === 'aud') return 'Token audience (aud) is not accepted here';
  return `Token ${claim} claim is invalid`;
}
