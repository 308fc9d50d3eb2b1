import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { DataloaderType } from '@mikro-orm/core';
import { entities } from './entities';
import { migrationsList } from '../../migrations';

export type { MikroORM };

export interface OrmOptions {
  clientUrl: string;
  /** Called with every SQL statement; tests use it to count queries. */
  onQuery?: (sql: string) => void;
  poolMax?: number;
}

export function ormConfig(opts: OrmOptions): Options {
  return {
    clientUrl: opts.clientUrl,
    entities,
    extensions: [Migrator],
    dataloader: DataloaderType.ALL,
    forceUtcTimezone: true,
    allowGlobalContext: false,
    pool: { min: 0, max: opts.poolMax ?? 10 },
    debug: opts.onQuery ? ['query'] : false,
    logger: opts.onQuery ? (msg: string) => opts.onQuery?.(msg) : () => undefined,
    migrations: {
      migrationsList,
      path: 'migrations',
      pathTs: 'migrations',
      emit: 'ts',
      snapshot: false,
      transactional: true,
      allOrNothing: true,
    },
  };
}

export async function initOrm(opts: OrmOptions): Promise<MikroORM> {
  return MikroORM.init(ormConfig(opts));
}

export async function migrate(orm: MikroORM): Promise<string[]> {
  const done = await orm.getMigrator().up();
  return done.map((m) => m.name);
}

/** Creates the database named in the URL if it does not exist yet. */
export async function ensureDatabase(clientUrl: string): Promise<void> {
  const url = new URL(clientUrl);
  const dbName = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  url.pathname = '/postgres';
  const admin = await MikroORM.init({
    clientUrl: url.toString(),
    entities: [],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: 1 },
    allowGlobalContext: true,
  });
  try {
    const conn = admin.em.getConnection();
    const rows = await conn.execute<{ exists: boolean }[]>('select 1 as exists from pg_database where datname = ?', [dbName]);
    if (rows.length === 0) await conn.execute(`create database "${dbName.replace(/"/g, '""')}"`);
  } finally {
    await admin.close(true);
  }
}
