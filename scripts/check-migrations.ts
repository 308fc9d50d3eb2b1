/**
 * Fails when the migrations do not produce the schema the entities describe,
 * or when migrations/index.ts does not list exactly the migration files.
 * Runs every migration on a scratch database (on TEST_DATABASE_URL's server,
 * else the local one), then asks MikroORM what SQL would still be needed.
 */
import 'reflect-metadata';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDatabase, initOrm } from '../src/db/orm';
import { migrationsList } from '../migrations';
import { dropDatabase, scratchDatabaseUrl } from './scratch-db';

const migrationsDir = join(__dirname, '..', 'migrations');

/** Problems with migrations/index.ts; empty when it lists every file once, in order. */
export function indexProblems(): string[] {
  const files = readdirSync(migrationsDir)
    .filter((f) => /^Migration\d+.*\.ts$/.test(f))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  const listed = migrationsList.map((m) => m.name);
  const problems: string[] = [];
  for (const f of files) if (!listed.includes(f)) problems.push(`migrations/${f}.ts is not in migrations/index.ts`);
  for (const n of listed) if (!files.includes(n)) problems.push(`migrations/index.ts lists ${n}, which has no file`);
  if (problems.length === 0 && listed.join() !== files.join()) {
    problems.push(`migrations/index.ts is out of order: expected ${files.join(', ')}`);
  }
  return problems;
}

async function pendingSql(): Promise<string> {
  const url = scratchDatabaseUrl('check');
  await ensureDatabase(url);
  try {
    const orm = await initOrm({ clientUrl: url, poolMax: 2 });
    try {
      const applied = await orm.getMigrator().up();
      console.log(`Applied ${applied.length} migration(s) to a scratch database.`);
      // Same diff createMigration would write (snapshot is off, so it reads the live schema).
      return (await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false })).trim();
    } finally {
      await orm.close(true);
    }
  } finally {
    await dropDatabase(url);
  }
}

async function main(): Promise<number> {
  let failed = false;
  const problems = indexProblems();
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    console.error('migrations/index.ts is stale: run npm run migration:create (it rewrites the index)');
    failed = true;
  }
  const sql = await pendingSql();
  if (sql) {
    console.error('The entities need SQL that no migration runs:\n');
    console.error(sql.replace(/^/gm, '  '));
    console.error('\nentities changed without a migration: run npm run migration:create');
    failed = true;
  }
  if (!failed) console.log('Migrations are up to date with the entities.');
  return failed ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
