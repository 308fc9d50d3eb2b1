import type { Redis } from 'ioredis';

/**
 * Where cacheable tool results live. An interface with an in-memory twin so a
 * single node needs no Redis, while a cluster shares results through Redis.
 */
export interface ToolCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
}

export interface MemoryToolCacheOptions {
  /** Oldest-used entries are evicted past this count, so memory stays bounded. */
  maxEntries?: number;
  /** Injectable clock (ms) so tests can expire entries without sleeping. */
  now?: () => number;
}

/** Process-local cache with TTL and least-recently-used eviction. */
export class MemoryToolCache implements ToolCache {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: MemoryToolCacheOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 1000);
    this.now = options.now ?? Date.now;
  }

  /** Number of live and not-yet-swept entries; for tests and metrics. */
  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-insert so Map order doubles as recency order for eviction.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + ttlSeconds * 1000 });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

/**
 * Cache shared by every node. The client is passed in (not created here) so the
 * app owns one connection; the prefix keeps tool keys apart from other data.
 */
export class RedisToolCache implements ToolCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async get(key: string): Promise<string | undefined> {
    const value = await this.redis.get(this.prefix + key);
    return value ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    // EX only takes whole positive seconds.
    await this.redis.set(this.prefix + key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)));
  }
}
