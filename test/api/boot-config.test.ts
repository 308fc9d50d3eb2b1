import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

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
});
