import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startTestParley } from '../support/parley';

const ROOT = join(__dirname, '..', '..');

describe('boot with a bad environment', () => {
  it('exits 2 with a message naming each bad variable, before touching any database', () => {
    const res = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, PORT: 'eighty', DATABASE_URL: 'mysql://db/x', JWT_SECRET: 'short' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('PORT:');
    expect(res.stderr).toContain('DATABASE_URL: must be a URL starting with postgres: or postgresql:');
    expect(res.stderr).toContain('JWT_SECRET: must be at least 32 characters');
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  /**
   * PARLEY_ADMIN_KEY is refused at boot unless it looks like the API keys
   * Parley issues: a bearer token without the `pk_` prefix is read as a JWT,
   * so such a key used to be accepted here and then never authenticated.
   */
  it('refuses an admin key without the pk_ prefix, saying how to make one', () => {
    const res = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, PARLEY_ADMIN_KEY: 'my-very-own-admin-secret', DATABASE_URL: 'postgres://x@127.0.0.1:1/x' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('PARLEY_ADMIN_KEY: must be pk_ followed by at least 16 characters');
    expect(res.stderr).toContain('npx parley generate-key');
    expect(res.stderr).not.toContain('my-very-own-admin-secret');
  });

  it('accepts a key made by `parley generate-key`, and that key authenticates as the admin', async () => {
    const gen = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src/cli.ts'), 'generate-key'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(gen.status).toBe(0);
    const key = gen.stdout.trim();
    expect(key).toMatch(/^pk_[A-Za-z0-9_-]{40,}$/);
    const node = await startTestParley({ env: { PARLEY_ADMIN_KEY: key } });
    try {
      const res = await node.gql<{ viewer: { email: string; role: string } }>('{ viewer { email role } }', undefined, key);
      expect(res.data?.viewer).toEqual({ email: 'admin@parley.local', role: 'ADMIN' });
    } finally {
      await node.stop();
    }
  }, 60_000);
});
