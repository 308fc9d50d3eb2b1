import type Redis from 'ioredis';
import { getGraphQLRateLimiter, InMemoryStore, RedisStore } from 'graphql-rate-limit';
import type { MiddlewareFn } from 'type-graphql';
import type { Context } from './context';
import { AppError, ErrorCode } from './errors';

/** Named limits, configured once; resolvers say which bucket they draw from. */
export type RateLimitBucket = 'runs';

export interface RateLimits {
  check(bucket: RateLimitBucket, ctx: Context, fieldName: string): Promise<void>;
}

/**
 * graphql-rate-limit's sliding window per viewer and field. With Redis the
 * window is shared by every API node; its RedisStore reads then writes (not
 * atomic), which is fine for coarse abuse limits like these.
 */
export function createRateLimits(perMinute: Record<RateLimitBucket, number>, redis?: Redis, prefix = ''): RateLimits {
  const store = redis ? new RedisStore(prefixedCallbackClient(redis, `${prefix}rate:`)) : new InMemoryStore();
  const limiter = getGraphQLRateLimiter({
    identifyContext: (ctx: Context) => ctx.viewer?.id ?? 'anonymous',
    store,
    formatError: ({ fieldName, max, window }) => `Rate limit: at most ${max} ${fieldName} per ${window}; retry later`,
  });
  return {
    async check(bucket, ctx, fieldName) {
      const message = await limiter(
        { parent: undefined, args: {}, context: ctx, info: { fieldName } as never },
        { max: perMinute[bucket], window: '1m', identityArgs: [] },
      );
      if (message) throw new AppError(ErrorCode.RATE_LIMITED, message, { bucket, limitPerMinute: perMinute[bucket] });
    },
  };
}

/**
 * RedisStore speaks the callback style of node-redis 3 (`get(key, cb)`,
 * `set([key, value, 'EX', n], cb)`); this adapts the runtime's shared ioredis
 * connection to it and puts the deployment's prefix on every key.
 */
function prefixedCallbackClient(redis: Redis, prefix: string) {
  type Callback<T> = (err: Error | null, value?: T) => void;
  return {
    get(key: string, cb: Callback<string | null>) {
      redis.get(prefix + key).then((v) => cb(null, v), (err: Error) => cb(err));
    },
    /**
     * Answered without waiting for Redis: one connection runs its commands in
     * the order they were sent, so this node's next read of the window sees
     * the write, and a write that fails only forgets one call of a coarse
     * limit. One round trip fewer on every run-starting mutation.
     */
    set(args: (string | number)[], cb: Callback<unknown>) {
      const [key, ...rest] = args;
      redis.call('set', prefix + String(key), ...rest).catch(() => undefined);
      cb(null);
    },
  };
}

/** `@UseMiddleware(RateLimit('runs'))` on a mutation. */
export function RateLimit(bucket: RateLimitBucket): MiddlewareFn<Context> {
  return async ({ context, info }, next) => {
    await context.services.rateLimits.check(bucket, context, info.fieldName);
    return next();
  };
}
