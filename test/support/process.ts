import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ParleyProcess {
  child: ChildProcess;
  url: string;
  logs: string[];
  /** SIGTERM and wait for exit (graceful shutdown). */
  stop(): Promise<number | null>;
  kill(): void;
}

/** The repository root, whether this file runs from test/support or compiled into dist/test/support. */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

const ROOT = repoRoot();

/**
 * Runs a Parley entry point as a separate OS process, waiting for the log line
 * that says it is ready: a TypeScript one (src/main.ts, src/worker.ts) through
 * ts-node, a built one (dist/src/main.js, as `npm start` runs it) with node.
 */
export function spawnParley(
  env: Record<string, string>,
  entry = 'src/main.ts',
  readyMsg = 'Parley is listening',
  /** How long to wait for `readyMsg`: ts-node compiling src/ on a loaded machine can take a while. */
  startTimeoutMs = 30_000,
): Promise<ParleyProcess> {
  const loader = entry.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : [];
  const child = spawn(process.execPath, [...loader, '-r', 'reflect-metadata', join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a half-started process behind
      reject(new Error(`${entry} did not start:\n${logs.join('\n')}`));
    }, startTimeoutMs);
    const onLine = (line: string) => {
      logs.push(line);
      try {
        const entryLog = JSON.parse(line) as { msg?: string; url?: string };
        if (entryLog.msg === readyMsg) {
          clearTimeout(timer);
          resolve({
            child,
            url: (entryLog.url ?? '').replace('localhost', '127.0.0.1'),
            logs,
            stop: async () => {
              if (child.exitCode === null) child.kill('SIGTERM');
              return exited;
            },
            kill: () => child.kill('SIGKILL'),
          });
        }
      } catch {
        // not a JSON log line
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', (l) => logs.push(l));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}:\n${logs.join('\n')}`));
    });
  });
}
