import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { MemorySubscriptionSlots, RedisSubscriptionSlots, type ReleaseSlot, type SubscriptionSlots } from '../../src/server/subscription-slots';
import { dropRedisKeys } from '../../scripts/scratch-db';
import { TEST_REDIS_URL } from '../support/parley';

const fail = (err: unknown) => {
  throw err;
};

/** Each node of a cluster is its own connection and its own slot keeper on one prefix. */
describe('subscription slots per user', () => {
  const prefix = `parley-test-${randomBytes(4).toString('hex')}:`;
  const connections: Redis[] = [];
  const keepers: SubscriptionSlots[] = [];
  const node = (leaseMs?: number) => {
    const redis = new Redis(TEST_REDIS_URL);
    connections.push(redis);
    const slots = new RedisSubscriptionSlots(redis, prefix, fail, leaseMs);
    keepers.push(slots);
    return slots;
  };
  afterAll(async () => {
    for (const k of keepers) k.close();
    await dropRedisKeys(TEST_REDIS_URL, prefix);
    await Promise.all(connections.map((c) => c.quit()));
  });

  it.each([
    ['in memory (one node)', () => [new MemorySubscriptionSlots()]],
    ['in Redis, over two nodes', () => [node(), node()]],
  ])('%s: gives out exactly max at once, and a released slot again', async (_name, make) => {
    const nodes = make();
    const user = randomBytes(4).toString('hex');
    const taken = await Promise.all(Array.from({ length: 7 }, (_, i) => nodes[i % nodes.length].acquire(user, 4)));
    const held = taken.filter((r): r is ReleaseSlot => r !== undefined);
    expect(held).toHaveLength(4);
    expect(await nodes[0].acquire(`${user}-other`, 4)).toBeDefined(); // users count apart
    held[0]();
    held[0](); // a second release gives nothing back twice
    const next = await nodes.at(-1)!.acquire(user, 4);
    expect(next).toBeDefined();
    expect(await nodes[0].acquire(user, 4)).toBeUndefined();
  });

  it('gives back the slots of a node that died without releasing them, once their leases lapse', async () => {
    const user = randomBytes(4).toString('hex');
    const crashed = node(300);
    expect(await crashed.acquire(user, 1)).toBeDefined();
    crashed.close(); // no more renewals, and no release: as if the process had been killed
    const survivor = node();
    expect(await survivor.acquire(user, 1)).toBeUndefined();
    let slot: ReleaseSlot | undefined;
    while (!slot) {
      await new Promise((r) => setTimeout(r, 100));
      slot = await survivor.acquire(user, 1);
    }
    expect(slot).toBeDefined();
  });
});
