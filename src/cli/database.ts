import type { Config } from '../config';
import type { Logger } from '../logger';
import { startEmbeddedPostgres } from '../db/embedded';
import { ensureDatabase, initOrm, migrate, type MikroORM } from '../db/orm';

export interface CliDatabase {
  orm: MikroORM;
  /** Where it is, without credentials: `host:port/db`, or the embedded directory. */
  where: string;
  close(): Promise<void>;
}

/**
 * The database the server would use. With no DATABASE_URL that is the
 * embedded one in PARLEY_DATA_DIR: a running `npm start` keeps serving it and
 * the command uses its server; otherwise the command starts it for itself and
 * stops it at the end.
 */
export async function openDatabase(config: Config, logger: Logger): Promise<CliDatabase> {
  let url = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let where: string;
  if (url) {
    await ensureDatabase(url);
    const u = new URL(url);
    where = `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } else {
    const embedded = await startEmbeddedPostgres(config.dataDir, logger, { shareRunning: true });
    stopEmbedded = embedded.stop;
    url = embedded.url;
    where = `embedded PostgreSQL in ${config.dataDir}${embedded.shared ? ' (served by a running Parley)' : ''}`;
  }
  try {
    const orm = await initOrm({ clientUrl: url, poolMax: 2 });
    return {
      orm,
      where,
      close: async () => {
        await orm.close(true);
        await stopEmbedded?.();
      },
    };
  } catch (err) {
    await stopEmbedded?.();
    throw err;
  }
}

/** Opens the database, brings its schema up to date as the server would (PARLEY_MIGRATE), runs `fn`, closes. */
export async function withDatabase<T>(config: Config, logger: Logger, fn: (db: CliDatabase) => Promise<T>): Promise<T> {
  const db = await openDatabase(config, logger);
  try {
    await migrate(db.orm, { apply: config.migrate, onWait: () => logger.info('waiting for another process to finish migrating') });
    return await fn(db);
  } finally {
    await db.close();
  }
}
