import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnParley, type ParleyProcess } from '../support/process';
import { alive, cli, errorLines, lockOf, postgresBinary, postgresIds, run, scratchDataDir, stopServerIn, until } from './helpers';

/**
 * The embedded PostgreSQL after its Parley died: `kill -9` of `npm start`
 * used to leave the server running, and every later start printed
 * `undefined` and exited 1.
 */
describe('embedded PostgreSQL after a crash', () => {
  const dataDir = scratchDataDir('crash');
  const env = { DATABASE_URL: '', REDIS_URL: '', PARLEY_ADMIN_KEY: '', PARLEY_DATA_DIR: dataDir };
  const started: ParleyProcess[] = [];
  let key: string;

  const start = async () => {
    const p = await spawnParley(env, 'src/main.ts', 'Parley is listening', 90_000);
    started.push(p);
    return p;
  };
  const viewer = async (p: ParleyProcess, token: string) => {
    const res = await fetch(p.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: '{ viewer { email } }' }) });
    return ((await res.json()) as { data?: { viewer: { email: string } } }).data?.viewer.email;
  };

  afterAll(async () => {
    for (const p of started) if (p.child.exitCode === null) await p.stop();
    await stopServerIn(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('after kill -9 of the server, the next start comes up on the same data', async () => {
    const first = await start();
    key = await until(() => first.logs.join('\n').match(/pk_[A-Za-z0-9_-]{20,}/)?.[0], 10_000, 'the printed admin key');
    expect(await viewer(first, key)).toBe('admin@parley.local');
    const exited = new Promise((r) => first.child.once('exit', r));
    first.kill();
    await exited;

    // Whether the old server is still shutting down or gone already, the start deals with it.
    const second = await start();
    expect(await viewer(second, key)).toBe('admin@parley.local');
  }, 180_000);

  it('a second server on the same directory is refused in one line naming the process that holds it', async () => {
    const running = started.at(-1)!;
    // Same port too, as after `kill -9` of `npm start` (npm dies, its node keeps serving): the line names that process.
    const res = await run('src/main.ts', [], { ...env, PORT: new URL(running.url).port });
    expect(res.code).toBe(1);
    expect(errorLines(res.stderr)).toEqual([expect.stringMatching(new RegExp(`is in use by the embedded PostgreSQL \\(pid \\d+\\) of running process ${running.child.pid} .*kill ${running.child.pid}.*set PARLEY_DATA_DIR`))]);
    expect(res.stderr).not.toMatch(/undefined|\n\s+at /);
    // The one that runs is untouched.
    expect(await viewer(running, key)).toBe('admin@parley.local');
  }, 120_000);

  it('the CLI shares the server of a running Parley instead of refusing', async () => {
    const running = started.at(-1)!;
    const res = await cli(['create-user', '--email', 'shared@example.com', '--json'], env);
    expect(res.code).toBe(0);
    const { apiKey } = JSON.parse(res.stdout) as { apiKey: string };
    expect(await viewer(running, apiKey)).toBe('shared@example.com');
    // A graceful stop still stops the server it owns, and leaves no lock behind.
    expect(await running.stop()).toBe(0);
    expect(lockOf(dataDir)).toBeUndefined();
  }, 120_000);

  it('an orphaned server (its parent gone without a watchdog, as older versions left it) is stopped and replaced', async () => {
    // A shell that starts the server in the background and exits: the server's parent is gone, as after a crash.
    const port = String(40_000 + Math.floor(Math.random() * 20_000));
    spawn('/bin/sh', ['-c', '"$0" -D "$1" -p "$2" -c listen_addresses=127.0.0.1 >/dev/null 2>&1 &', postgresBinary(), join(dataDir, 'pg'), port], {
      ...postgresIds(),
      detached: true,
      stdio: 'ignore',
    }).unref();
    const orphan = await until(() => (lockOf(dataDir)?.status === 'ready' ? lockOf(dataDir) : undefined), 30_000, 'the orphan to be ready');

    const third = await start();
    expect(third.logs.join('\n')).toContain('stopping an orphaned embedded PostgreSQL');
    expect(alive(orphan.pid)).toBe(false);
    expect(await viewer(third, key)).toBe('admin@parley.local');
    expect(await third.stop()).toBe(0);
  }, 180_000);

  it('a stale lock whose pid now belongs to another process is removed', async () => {
    // This test's own pid: alive, and no PostgreSQL (PostgreSQL itself would refuse such a lock).
    writeFileSync(join(dataDir, 'pg', 'postmaster.pid'), `${process.pid}\n${join(dataDir, 'pg')}\n1700000000\n5432\n/tmp\n127.0.0.1\n  0  0\nready   \n`);
    const fourth = await start();
    expect(fourth.logs.join('\n')).toContain('removing the stale lock');
    expect(await viewer(fourth, key)).toBe('admin@parley.local');
    expect(await fourth.stop()).toBe(0);
  }, 120_000);
});
