import { describeStartError } from '../../src/process';
import { PendingMigrationsError } from '../../src/db/orm';

/** The line a failed start prints, for errors that the process tests cannot easily provoke. */
describe('describeStartError', () => {
  const config = { databaseUrl: 'postgres://parley:pw-secret@db.internal:6543/parley', redisUrl: 'redis://:r-secret@cache:6380', port: 4000 };
  const errno = (props: Record<string, unknown>) => Object.assign(new Error(String(props.code)), props);

  it('never prints a bare undefined', async () => {
    const line = await describeStartError(undefined, config);
    expect(line).toMatch(/^Parley could not start: /);
    expect(line).not.toContain('undefined');
  });

  it('names the variable of the port in use', async () => {
    expect(await describeStartError(errno({ code: 'EADDRINUSE', syscall: 'listen', port: 4000 }), config)).toBe('port 4000 is in use; set PORT');
    expect(await describeStartError(errno({ code: 'EADDRINUSE', syscall: 'listen', port: 9464 }), config)).toBe('port 9464 is in use; set PARLEY_METRICS_PORT');
    expect(await describeStartError(errno({ code: 'EACCES', syscall: 'listen', port: 80 }), { ...config, port: 80 })).toBe('port 80 needs privileges this process does not have; set PORT to 1024 or above');
  });

  it('tells PostgreSQL from Redis by the address that failed, without credentials', async () => {
    const pg = await describeStartError(errno({ code: 'ECONNREFUSED', address: '10.0.0.5', port: 6543 }), config);
    expect(pg).toBe('cannot reach PostgreSQL at db.internal:6543 (DATABASE_URL): connection refused (is it running?)');
    const dns = await describeStartError(errno({ code: 'ENOTFOUND', hostname: 'db.internal' }), config);
    expect(dns).toBe('cannot reach PostgreSQL at db.internal:6543 (DATABASE_URL): host not found');
    const auth = await describeStartError(Object.assign(new Error('WRONGPASS invalid username-password pair'), { name: 'ReplyError' }), config);
    expect(auth).toBe('Redis at cache:6380 (REDIS_URL) refused: WRONGPASS invalid username-password pair');
    for (const line of [pg, dns, auth]) expect(line).not.toMatch(/secret/);
  });

  it("keeps a server error's message but not the statement's values", async () => {
    const err = Object.assign(new Error(`insert into "users" ("email") values ('admin@parley.local') - permission denied for table users`), { code: '42501' });
    err.stack = `${err.message}\n    at /app/node_modules/@mikro-orm/knex/x.js:1:1`;
    expect(await describeStartError(err, config)).toBe('PostgreSQL at db.internal:6543/parley (DATABASE_URL) refused: permission denied for table users');
  });

  it('passes through errors that are already one line for a person', async () => {
    const err = new PendingMigrationsError('the database lacks 2 migrations (a, b) and PARLEY_MIGRATE=off; run `npx parley migrate` (or `npm run migrate`) first');
    expect(await describeStartError(err, config)).toBe(err.message);
  });
});
