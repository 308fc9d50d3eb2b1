import { MikroORM } from '@mikro-orm/postgresql';
import { randomBytes } from 'node:crypto';

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
