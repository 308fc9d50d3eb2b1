import { createServer, type Server } from 'node:net';
import { dropDatabase, scratchDatabaseUrl } from '../../scripts/scratch-db';
import { closedPort, errorLines, run } from './helpers';

/** A start that cannot go on ends with exit 1 and one line that says what to change: never `undefined`, never a stack. */
describe('fatal start errors are one clear line', () => {
  const noStack = (stderr: string) => {
    expect(stderr).not.toMatch(/\n\s+at |undefined/);
  };

  it('port in use', async () => {
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as { port: number }).port;
    try {
      // The port is checked first: no database is touched (this URL would not even connect).
      const res = await run('src/main.ts', [], { PORT: String(port), DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/none' });
      expect(res.code).toBe(1);
      expect(errorLines(res.stderr)).toEqual([`port ${port} is in use; set PORT`]);
    } finally {
      holder.close();
    }
  });

  it('PostgreSQL unreachable: the host and port, never the password', async () => {
    const port = await closedPort();
    const res = await run('src/main.ts', [], { DATABASE_URL: `postgres://parley:s3cret-pw@127.0.0.1:${port}/parley` });
    expect(res.code).toBe(1);
    expect(errorLines(res.stderr)).toEqual([`cannot reach PostgreSQL at 127.0.0.1:${port} (DATABASE_URL): connection refused (is it running?)`]);
    expect(res.stderr + res.stdout).not.toContain('s3cret-pw');
    noStack(res.stderr);
  });

  it('PostgreSQL host unknown', async () => {
    const res = await run('src/main.ts', [], { DATABASE_URL: 'postgres://parley:s3cret-pw@db.invalid:5432/parley' });
    expect(res.code).toBe(1);
    expect(errorLines(res.stderr)).toEqual(['cannot reach PostgreSQL at db.invalid:5432 (DATABASE_URL): host not found']);
  });

  it('Redis unreachable', async () => {
    const databaseUrl = scratchDatabaseUrl('start_err');
    const port = await closedPort();
    try {
      const res = await run('src/main.ts', [], { DATABASE_URL: databaseUrl, REDIS_URL: `redis://:r3dis-pw@127.0.0.1:${port}` });
      expect(res.code).toBe(1);
      expect(errorLines(res.stderr)).toEqual([`cannot reach Redis at 127.0.0.1:${port} (REDIS_URL): connection refused (is it running?)`]);
      expect(res.stderr + res.stdout).not.toContain('r3dis-pw');
    } finally {
      await dropDatabase(databaseUrl);
    }
  });

  it('a separate worker without the shared services names the variable', async () => {
    const noRedis = await run('src/worker.ts', [], { DATABASE_URL: 'postgres://x@127.0.0.1/x' });
    expect(noRedis.code).toBe(2);
    expect(errorLines(noRedis.stderr)).toEqual([expect.stringMatching(/^REDIS_URL: a separate worker needs Redis/)]);
    const noDatabase = await run('src/worker.ts', [], { REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(noDatabase.code).toBe(2);
    expect(errorLines(noDatabase.stderr)).toEqual([expect.stringMatching(/^DATABASE_URL: a separate worker needs the API nodes' PostgreSQL/)]);
  });
});
