import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';

/**
 * Leadership of a deployment-wide duty (the run reconciler): at most one
 * process holds it at a time, and a holder that dies loses it within `ttlMs`.
 */
export interface LeaderLock {
  /** Takes the lock, or renews it if this process holds it; true while this process leads. */
  acquire(): Promise<boolean>;
  /** Gives it up (on shutdown), so another process takes over without waiting for the TTL. */
  release(): Promise<void>;
}

/** Without Redis there is one process: it always leads. */
export class LocalLeaderLock implements LeaderLock {
  async acquire(): Promise<boolean> {
    return true;
  }

  async release(): Promise<void> {}
}

// Renew if ours, else take it if free: one round trip, and no window where two processes both hold it.
const ACQUIRE = `
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`;

const RELEASE = `
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`;

/** `SET key token NX PX ttl`, renewed by its holder (compare-and-expire) on every acquire. */
export class RedisLeaderLock implements LeaderLock {
  private readonly token = randomUUID();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ttlMs: number,
  ) {}

  async acquire(): Promise<boolean> {
    return (await this.redis.eval(ACQUIRE, 1, this.key, this.token, this.ttlMs)) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }
}
