import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';

/** Gives a slot back; safe to call more than once. */
export type ReleaseSlot = () => void;

/**
 * How many subscriptions each user holds at once, over every API node. The
 * Redis implementation is the one that holds across nodes; the memory twin
 * serves a single node without Redis.
 */
export interface SubscriptionSlots {
  /** Takes one of the user's `max` slots; undefined when all are taken. */
  acquire(userId: string, max: number): Promise<ReleaseSlot | undefined>;
  close(): void;
}

export class MemorySubscriptionSlots implements SubscriptionSlots {
  private readonly held = new Map<string, number>();

  async acquire(userId: string, max: number): Promise<ReleaseSlot | undefined> {
    const count = this.held.get(userId) ?? 0;
    if (count >= max) return undefined;
    this.held.set(userId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(userId) ?? 1) - 1;
      if (left > 0) this.held.set(userId, left);
      else this.held.delete(userId);
    };
  }

  close(): void {}
}

/**
 * A lease lasts this long unless its node renews it (every third of it): a
 * node that dies without releasing its slots gives them back within a minute.
 */
const DEFAULT_LEASE_MS = 60_000;

/**
 * Scores are expiry times from Redis's own clock (TIME), never a node's, so
 * nodes whose clocks disagree still agree on which leases are alive.
 */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] the user's lease set; ARGV member, max, lease ms. Drops dead leases, then takes a slot if one is free. */
const ACQUIRE = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** KEYS[1] the user's lease set; ARGV lease ms, members… Pushes this node's leases of one user forward. */
const RENEW = `${NOW_MS}
local until_ = now + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], until_, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

type ScriptedRedis = Redis & {
  parleySlotAcquire(key: string, member: string, max: number, leaseMs: number): Promise<number>;
  parleySlotRenew(key: string, leaseMs: number, ...members: string[]): Promise<number>;
};

/**
 * One sorted set per user (`<prefix>subs:<userId>`) of leases, member = a
 * random id per subscription, score = when it lapses. Taking a slot is one
 * script (one round trip); giving it back is a ZREM; each node renews what it
 * holds on a timer, one script per user, pipelined.
 */
export class RedisSubscriptionSlots implements SubscriptionSlots {
  private readonly redis: ScriptedRedis;
  /** This node's live leases: user key → members. */
  private readonly mine = new Map<string, Set<string>>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly onError: (err: unknown) => void,
    private readonly leaseMs = DEFAULT_LEASE_MS,
  ) {
    redis.defineCommand('parleySlotAcquire', { numberOfKeys: 1, lua: ACQUIRE });
    redis.defineCommand('parleySlotRenew', { numberOfKeys: 1, lua: RENEW });
    this.redis = redis as ScriptedRedis;
    this.timer = setInterval(() => this.renew(), leaseMs / 3).unref();
  }

  async acquire(userId: string, max: number): Promise<ReleaseSlot | undefined> {
    const key = `${this.prefix}subs:${userId}`;
    const member = randomUUID();
    if (!(await this.redis.parleySlotAcquire(key, member, max, this.leaseMs))) return undefined;
    const members = this.mine.get(key) ?? new Set<string>();
    members.add(member);
    this.mine.set(key, members);
    return () => {
      if (!members.delete(member)) return;
      if (!members.size && this.mine.get(key) === members) this.mine.delete(key);
      this.redis.zrem(key, member).catch(this.onError); // a lost ZREM only keeps the slot until its lease lapses
    };
  }

  private renew(): void {
    if (!this.mine.size) return;
    const pipeline = this.redis.pipeline();
    for (const [key, members] of this.mine) (pipeline as unknown as ScriptedRedis).parleySlotRenew(key, this.leaseMs, ...members);
    pipeline.exec().catch(this.onError);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
