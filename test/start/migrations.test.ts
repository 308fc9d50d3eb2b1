import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';
import { dropDatabase, dropRedisKeys, scratchDatabaseUrl } from '../../scripts/scratch-db';
import { migrationsList } from '../../migrations';
import { TEST_REDIS_URL } from '../support/parley';
import { spawnParley, type ParleyProcess } from '../support/process';
import { errorLines, ROOT, run } from './helpers';

async function appliedMigrations(databaseUrl: string): Promise<string[]> {
  const orm = await MikroORM.init({ clientUrl: databaseUrl, entities: [], discovery: { warnWhenNoEntities: false }, pool: { min: 0, max: 1 }, allowGlobalContext: true });
  try {
    const rows = await orm.em.getConnection().execute<{ name: string }[]>('select name from mikro_orm_migrations order by id');
    return rows.map((r) => r.name);
  } finally {
    await orm.close(true);
  }
}

const adminKey = () => `pk_test_admin_${randomBytes(12).toString('hex')}`;

describe('migrations at start', () => {
  const databases: string[] = [];
  const processes: ParleyProcess[] = [];
  const scratch = () => {
    const url = scratchDatabaseUrl('migrate');
    databases.push(url);
    return url;
  };

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    for (const url of databases) await dropDatabase(url);
  });

  it('API and worker processes starting together on a fresh database all come up, and each migration is applied once', async () => {
    const databaseUrl = scratch();
    const key = adminKey();
    const redisPrefix = `parley-test-${randomBytes(4).toString('hex')}:`;
    const env = { DATABASE_URL: databaseUrl, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: redisPrefix, PARLEY_ADMIN_KEY: key };
    try {
      const started = await Promise.all([
        spawnParley({ ...env, PARLEY_WORKER: 'off' }, 'src/main.ts', 'Parley is listening', 90_000),
        spawnParley({ ...env, PARLEY_WORKER: 'off' }, 'src/main.ts', 'Parley is listening', 90_000),
        spawnParley({ ...env, PARLEY_METRICS_PORT: '0' }, 'src/worker.ts', 'Parley worker is running', 90_000),
      ]);
      processes.push(...started);
      expect(await appliedMigrations(databaseUrl)).toEqual(migrationsList.map((m) => m.name));
      // The admin key too was ensured once: it authenticates on both nodes.
      for (const node of started.slice(0, 2)) {
        const res = await fetch(node.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query: '{ viewer { email } }' }) });
        expect(await res.json()).toEqual({ data: { viewer: { email: 'admin@parley.local' } } });
      }
      for (const p of started) expect(await p.stop()).toBe(0);
    } finally {
      await dropRedisKeys(TEST_REDIS_URL, redisPrefix);
    }
  }, 180_000);

  it('PARLEY_MIGRATE=off refuses a database that lacks migrations, in one line', async () => {
    const res = await run('src/main.ts', [], { DATABASE_URL: scratch(), PARLEY_MIGRATE: 'off' });
    expect(res.code).toBe(1);
    expect(errorLines(res.stderr)).toEqual([expect.stringMatching(/^the database lacks \d+ migrations \(.*\) and PARLEY_MIGRATE=off; run `npx parley migrate`/)]);
  });

  describe('as a separate deploy step (built code, as deployed)', () => {
    beforeAll(async () => {
      // `npm run migrate` and `npx parley` run dist/; build it from the current sources.
      await run('npx', ['tsc', '-p', 'tsconfig.build.json'], {}, 240_000);
      expect(existsSync(join(ROOT, 'dist/src/cli.js'))).toBe(true);
    }, 300_000);

    it('`npm run migrate` applies them alone, then nodes start with PARLEY_MIGRATE=off', async () => {
      const databaseUrl = scratch();
      const check = await run('npx', ['parley', 'migrate', '--check'], { DATABASE_URL: databaseUrl });
      expect(check.code).toBe(1);
      expect(check.stdout).toContain(`${migrationsList.length} pending`);

      const first = await run('npm', ['run', 'migrate'], { DATABASE_URL: databaseUrl });
      expect(first.code).toBe(0);
      expect(first.stdout).toContain(`applied ${migrationsList.length} migrations`);
      expect(await appliedMigrations(databaseUrl)).toEqual(migrationsList.map((m) => m.name));

      const again = await run('npm', ['run', '--silent', 'migrate', '--', '--json'], { DATABASE_URL: databaseUrl });
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual({ database: expect.stringContaining('/parley_migrate_'), applied: [] });

      const node = await spawnParley({ DATABASE_URL: databaseUrl, PARLEY_MIGRATE: 'off', PARLEY_ADMIN_KEY: adminKey() }, 'dist/src/main.js');
      processes.push(node);
      expect(node.logs.join('\n')).not.toContain('applied migrations');
      expect(await node.stop()).toBe(0);
    }, 120_000);
  });
});
