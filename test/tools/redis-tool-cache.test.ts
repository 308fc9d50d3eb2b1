import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { createBuiltinRegistry } from '../../src/modules/tools/builtin-tools';
import { RedisToolCache } from '../../src/modules/tools/tool-cache';
import type { ToolContext } from '../../src/modules/tools/tool.types';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('RedisToolCache (real Redis)', () => {
  const prefix = `parley-test:tools:${randomUUID()}:`;
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('misses, then returns what was set, under the prefix with a TTL', async () => {
    const cache = new RedisToolCache(redis, prefix);
    expect(await cache.get('k1')).toBeUndefined();
    await cache.set('k1', '{"result":4}', 30);
    expect(await cache.get('k1')).toBe('{"result":4}');
    expect(await redis.get(`${prefix}k1`)).toBe('{"result":4}');
    const ttl = await redis.ttl(`${prefix}k1`);
    expect(ttl).toBeGreaterThan(25);
    expect(ttl).toBeLessThanOrEqual(30);
  });

  it('rounds fractional TTLs up to whole seconds', async () => {
    const cache = new RedisToolCache(redis, prefix);
    await cache.set('k2', 'v', 0.2);
    expect(await redis.ttl(`${prefix}k2`)).toBe(1);
  });

  it('expires entries', async () => {
    const cache = new RedisToolCache(redis, prefix);
    await cache.set('k3', 'v', 1);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await cache.get('k3')).toBeUndefined();
  });

  it('is shared between registries, as between nodes', async () => {
    const ctx: ToolContext = { viewerId: 'v', signal: new AbortController().signal, searchMessages: async () => [] };
    const nodeA = createBuiltinRegistry(new RedisToolCache(redis, prefix));
    const nodeB = createBuiltinRegistry(new RedisToolCache(redis, prefix));
    const first = await nodeA.execute('calculator', '{"expression":"6*7"}', ctx);
    const second = await nodeB.execute('calculator', '{"expression":"6*7"}', ctx);
    expect(first).toMatchObject({ cached: false, isError: false });
    expect(second).toMatchObject({ cached: true, isError: false, output: first.output });
    expect(await redis.keys(`${prefix}calculator:*`)).toHaveLength(1);
  });
});
