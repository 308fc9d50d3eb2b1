import type Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { MiddlewareFn } from 'type-graphql';
import type { RateLimitConfig, RateLimitName } from '../config';
import type { Context, Viewer } from './context';
import { AppError, ErrorCode } from './errors';

/** Whose bucket a point is drawn from. */
export type RateLimitScope = 'user' | 'apiKey' | 'ip';

/** One point to draw: which limit, from whose bucket. */
export interface Draw {
  limit: RateLimitName;
  scope: RateLimitScope;
  key: string;
}

export interface RateLimits {
  /**
   * Draws one point from every bucket at once; throws RATE_LIMITED (naming the
   * refusing limit, with `retryAfterMs`) if any of them is empty.
   */
  consume(draws: readonly Draw[]): Promise<void>;
}

const WINDOW_S = 60;

const nouns: Record<RateLimitName, string> = {
  runs: 'run starts',
  queries: 'queries',
  mutations: 'mutations',
  subscriptions: 'subscriptions opened',
  anonymous: 'anonymous requests',
  apiKey: 'requests with one API key',
  authFailures: 'failed authentications',
};

/**
 * Fixed one-minute windows from rate-limiter-flexible. With Redis every limit
 * is one Lua script (INCRBY + PEXPIRE, EVALSHA: one round trip) on the
 * runtime's connection, so concurrent requests on any number of nodes count
 * exactly. A key refused once is remembered in this node's memory until its
 * window ends: a flooding client costs no further Redis trips here. If Redis
 * fails, each node falls back to its own in-memory window rather than refusing
 * everyone or nobody.
 */
export function createRateLimits(perMinute: RateLimitConfig, redis?: Redis, prefix = ''): RateLimits {
  const limiters = new Map<RateLimitName, RateLimiterAbstract>();
  for (const [name, points] of Object.entries(perMinute) as [RateLimitName, number][]) {
    if (points <= 0) continue; // 0 = off: no limiter, no round trip
    const memory = new RateLimiterMemory({ points, duration: WINDOW_S });
    limiters.set(
      name,
      redis
        ? new RateLimiterRedis({
            storeClient: redis,
            keyPrefix: `${prefix}rate:${name}`,
            points,
            duration: WINDOW_S,
            inMemoryBlockOnConsumed: points + 1,
            rejectIfRedisNotReady: true,
            insuranceLimiter: memory,
          })
        : memory,
    );
  }

  const draw = async ({ limit, scope, key }: Draw) => {
    const limiter = limiters.get(limit);
    if (!limiter) return;
    try {
      await limiter.consume(`${scope}:${key}`);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      throw rateLimited(limit, scope, perMinute[limit], err.msBeforeNext);
    }
  };

  return {
    async consume(draws) {
      if (draws.length === 1) return draw(draws[0]);
      const results = await Promise.allSettled(draws.map(draw));
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
      if (refused.length) throw longestWait(refused);
    },
  };
}

function rateLimited(limit: RateLimitName, scope: RateLimitScope, perMinute: number, msBeforeNext: number): AppError {
  const retryAfterMs = Math.max(1, Math.ceil(msBeforeNext));
  const per = scope === 'apiKey' ? 'API key' : scope === 'ip' ? 'IP address' : 'user';
  const message = `Rate limit: at most ${perMinute} ${nouns[limit]} per minute per ${per}; retry in ${Math.ceil(retryAfterMs / 1000)} s`;
  const details = { limit: `${limit}PerMinute`, scope, limitPerMinute: perMinute, retryAfterMs };
  return withoutStack(() => new AppError(ErrorCode.RATE_LIMITED, message, details));
}

/**
 * A refusal is an expected answer, given thousands of times a second to a
 * flood, not a fault to debug: capturing (and, with source maps, mapping) a
 * stack for each was a measurable part of what refusing cost.
 */
export function withoutStack<T>(make: () => T): T {
  const depth = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = depth;
  }
}

/** Of several refusals the one to report is the one the client must wait longest for. */
function longestWait(errors: unknown[]): unknown {
  const wait = (e: unknown) => (e instanceof AppError ? Number(e.details.retryAfterMs ?? 0) : Number.POSITIVE_INFINITY);
  return errors.reduce((a, b) => (wait(b) > wait(a) ? b : a));
}

/**
 * The buckets an operation of one class draws from: the user's (every key and
 * token of a user shares it, so more keys buy no more requests) and, when the
 * request came with an API key, that key's; an anonymous request draws from
 * its IP address's.
 */
export function operationDraws(limit: 'queries' | 'mutations' | 'subscriptions', viewer: Viewer | undefined, ip: string | undefined): Draw[] {
  if (!viewer) return [{ limit: 'anonymous', scope: 'ip', key: ip ?? 'unknown' }];
  const draws: Draw[] = [{ limit, scope: 'user', key: viewer.id }];
  if (viewer.apiKeyId) draws.push({ limit: 'apiKey', scope: 'apiKey', key: viewer.apiKeyId });
  return draws;
}

/**
 * `@UseMiddleware(RateLimit('runs'))` on a run-starting mutation: a per-field
 * limit, so each such field of a document draws its own point. Anonymous
 * callers draw nothing here; the resolver refuses them and their operation
 * already drew from their IP's bucket.
 */
export function RateLimit(limit: Extract<RateLimitName, 'runs'>): MiddlewareFn<Context> {
  return async ({ context }, next) => {
    if (context.viewer) await context.services.rateLimits.consume([{ limit, scope: 'user', key: context.viewer.id }]);
    return next();
  };
}
