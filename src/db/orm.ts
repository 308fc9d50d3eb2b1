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

/** Connections a process keeps open however long it idles: a send, or a worker's claim and path read, at once. */
const POOL_WARM = 2;
/** How long a connection beyond those may idle before it is closed. */
const POOL_IDLE_MS = 10 * 60_000;

export function ormConfig(opts: OrmOptions): Options {
  return {
    clientUrl: opts.clientUrl,
    entities,
    extensions: [Migrator],
    dataloader: DataloaderType.ALL,
    forceUtcTimezone: true,
    allowGlobalContext: false,
    // Connections outlive a quiet spell: the first run after one would otherwise open its connections
    // on the way to its first token (the pool closed them after 30 s of idleness).
    pool: { min: Math.min(POOL_WARM, opts.poolMax ?? 10), max: opts.poolMax ?? 10, idleTimeoutMillis: POOL_IDLE_MS },
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

export interface MigrateOptions {
  /** false: apply nothing, and fail if the database lacks a migration (PARLEY_MIGRATE=off). Default true. */
  apply?: boolean;
  /** Called when another process holds the migration lock and this one waits for it. */
  onWait?: () => void;
}

/** The database lacks migrations this build needs and this process may not apply them. */
export class PendingMigrationsError extends Error {
  override name = 'PendingMigrationsError';
}

/**
 * Applies pending migrations once per database however many processes start
 * together: each holds a Postgres advisory lock while it checks and migrates,
 * so the second finds nothing left to do. Returns the names it applied.
 */
export async function migrate(orm: MikroORM, opts: MigrateOptions = {}): Promise<string[]> {
  if (opts.apply === false) {
    const pending = await pendingMigrations(orm);
    if (pending.length) {
      throw new PendingMigrationsError(
        `the database lacks ${pending.length} migration${pending.length > 1 ? 's' : ''} (${pending.length > 2 ? `${pending[0]} … ${pending.at(-1)}` : pending.join(', ')}) and PARLEY_MIGRATE=off; run \`npx parley migrate\` (or \`npm run migrate\`) first`,
      );
    }
    return [];
  }
  return withMigrationLock(orm, opts.onWait, async () => (await orm.getMigrator().up()).map((m) => m.name));
}

/** Names of this build's migrations that the database has not applied, read without writing anything. */
export async function pendingMigrations(orm: MikroORM): Promise<string[]> {
  const conn = orm.em.getConnection();
  const [table] = await conn.execute<{ t: string | null }[]>("select to_regclass('mikro_orm_migrations')::text as t");
  const rows = table?.t ? await conn.execute<{ name: string }[]>('select name from mikro_orm_migrations') : [];
  const applied = new Set(rows.map((r) => r.name.replace(/\.[jt]s$/, '')));
  return migrationsList.map((m) => m.name).filter((name) => !applied.has(name));
}

/** One fixed key for every Parley process; advisory locks are per database, so other databases never wait. */
const MIGRATION_LOCK_KEY = 0x5061726c6579; // "Parley"

interface RawPgConnection {
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}
interface RawConnections {
  acquireRawConnection(): Promise<RawPgConnection>;
  destroyRawConnection(conn: RawPgConnection): Promise<void>;
}

/**
 * The lock is held by a session of its own, outside the pool, for the whole
 * run of the migrator (which checks its table, then migrates, on pooled
 * connections): a pool of one cannot deadlock on it, and a process that dies
 * holding it releases it with its connection.
 */
async function withMigrationLock<T>(orm: MikroORM, onWait: (() => void) | undefined, fn: () => Promise<T>): Promise<T> {
  const client = orm.em.getConnection().getKnex().client as unknown as RawConnections;
  const conn = await client.acquireRawConnection();
  try {
    const { rows } = await conn.query('select pg_try_advisory_lock($1) as locked', [MIGRATION_LOCK_KEY]);
    if (!rows[0]?.locked) {
      onWait?.();
      await conn.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    }
    return await fn();
  } finally {
    // Ending the session releases the lock.
    await client.destroyRawConnection(conn).catch(() => undefined);
  }
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
    if (rows.length === 0) {
      await conn.execute(`create database "${dbName.replace(/"/g, '""')}"`).catch((err: { code?: string }) => {
        // Another process starting at the same moment created it first (duplicate_database, or the catalog's unique index).
        if (err.code !== '42P04' && err.code !== '23505') throw err;
      });
    }
  } finally {
    await admin.close(true);
  }
}
