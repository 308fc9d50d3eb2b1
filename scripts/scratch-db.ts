import { MikroORM } from '@mikro-orm/postgresql';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';

/** The server that scratch databases go on: TEST_DATABASE_URL, else the local one. */
export function scratchDatabaseUrl(tag: string): string {
  const base = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  base.pathname = `/parley_${tag}_${randomBytes(4).toString('hex')}`;
  return base.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  u.pathname = '/postgres';
  const admin = await MikroORM.init({
    clientUrl: u.toString(),
    entities: [],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: 1 },
    allowGlobalContext: true,
  });
  try {
    await admin.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.close(true);
  }
}

/** Deletes every key under `prefix` (a test's or benchmark's own), leaving the shared Redis as it was found. */
export async function dropRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
