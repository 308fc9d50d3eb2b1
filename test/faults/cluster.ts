import { randomBytes } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai';
import type { GqlResult } from '../support/parley';
import { spawnParley, type ParleyProcess } from '../support/process';
import { RUN_EVENTS, SEND, type RunEventItem, type RunEventsData, type SendData } from '../runs/run-helpers';
import { makeTempDir, startPostgres, startRedis, type FaultPostgres, type FaultRedis } from './services';

/**
 * A whole deployment for fault tests, every part a separate OS process the
 * test can stop, kill and start: its own Redis and Postgres (./services.ts),
 * two API nodes and one worker (`spawnParley`, from src/ through ts-node),
 * and the scripted fake OpenAI upstream in this process.
 *
 * Tests wait for events, log lines and states, never for time: `watch()`
 * resolves on events, `waitForLog()` on a process's log line, `waitForRun()`
 * on a run's status.
 */

export const FAULT_MODEL = 'fake/gpt-fault';
/** Generous: three ts-node processes compile src/ at once on a possibly loaded 2-core machine. */
const PROCESS_START_MS = 120_000;

export interface FaultClusterOptions {
  /** Extra environment for every Parley process (API nodes and worker). */
  env?: Record<string, string>;
  /** Extra environment for the worker only. */
  workerEnv?: Record<string, string>;
  /** Extra settings of the `fake` provider in PARLEY_PROVIDERS (timeoutMs, idleTimeoutMs, maxRetries). */
  provider?: Record<string, unknown>;
}

export interface RunEventsError {
  message: string;
  extensions?: { code?: string; lastSafeSeq?: number; runId?: string } & Record<string, unknown>;
}

export interface RunWatch {
  /** Every event received so far, in order. */
  events: RunEventItem[];
  /** Settles when the subscription completes (`error` unset) or fails (`error` set); rejects on a broken socket. */
  done: Promise<{ events: RunEventItem[]; error?: RunEventsError }>;
  /** Resolves as soon as `pred` holds for the events received (checked on every event). */
  waitFor(pred: (events: RunEventItem[]) => boolean): Promise<void>;
}

export interface StoredRun {
  id: string;
  status: string;
  error: { code: string; message: string } | null;
  responseMessage: { id: string; content: string; status: string } | null;
}

export interface FaultCluster {
  redis: FaultRedis;
  postgres: FaultPostgres;
  fake: FakeOpenAI;
  /** API nodes 0 and 1 (no worker in them). */
  api: ParleyProcess[];
  /** The worker process; null after killWorker() until startWorker(). */
  worker: ParleyProcess | null;
  adminKey: string;
  gql<T = Record<string, unknown>>(node: number, query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResult<T>>;
  /** A new user's API key. */
  newUser(): Promise<string>;
  conversation(token: string, node?: number): Promise<string>;
  send(token: string, conversationId: string, content: string, node?: number): Promise<SendData['sendMessage']>;
  /** Subscribes to a run's events on API node `node`. */
  watch(node: number, runId: string, token: string, after?: number): RunWatch;
  /** Polls `run(id)` (through either node, tolerating a node that is briefly failing) until `done` holds. */
  waitForRun(runId: string, token: string, done?: (run: StoredRun) => boolean, timeoutMs?: number): Promise<StoredRun>;
  /** Resolves with the first log line of `proc` (past or future) that `match` accepts. */
  waitForLog(proc: ParleyProcess, match: (entry: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  startWorker(): Promise<ParleyProcess>;
  /** SIGKILL: the worker gets no chance to clean up. */
  killWorker(): Promise<void>;
  /** Stops everything and removes the temporary directory; safe to call after a failed start. */
  close(): Promise<void>;
}

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'INCOMPLETE']);
const RUN_QUERY = `query($id: ID!) { run(id: $id) { id status error { code message } responseMessage { id content status } } }`;

/** Every child of every cluster in this process, killed if the test process exits without cleaning up. */
const children = new Set<ParleyProcess>();
process.once('exit', () => {
  for (const c of children) c.kill();
});

function track(p: ParleyProcess): ParleyProcess {
  children.add(p);
  p.child.once('exit', () => children.delete(p));
  return p;
}

export async function startFaultCluster(opts: FaultClusterOptions = {}): Promise<FaultCluster> {
  const dir = makeTempDir('parley-faults-');
  const clients: Client[] = [];
  const parts: { redis?: FaultRedis; postgres?: FaultPostgres; fake?: FakeOpenAI; api: ParleyProcess[]; worker: ParleyProcess | null } = {
    api: [],
    worker: null,
  };
  const close = async () => {
    await Promise.allSettled(clients.map((c) => c.dispose()));
    // Kill, not stop: a graceful shutdown may wait on a Redis or Postgres the test took away.
    for (const p of [...parts.api, ...(parts.worker ? [parts.worker] : [])]) p.kill();
    await Promise.allSettled(
      [...parts.api, ...(parts.worker ? [parts.worker] : [])].map(
        (p) => new Promise<void>((r) => (p.child.exitCode !== null || p.child.signalCode !== null ? r() : p.child.once('exit', () => r()))),
      ),
    );
    await Promise.allSettled([parts.fake?.close(), parts.redis?.close(), parts.postgres?.close()]);
    dir.remove();
  };

  try {
    // Each part is recorded as soon as it runs, so a failure of another still gets it closed.
    // allSettled: every part that did start is recorded, so a failure of another still gets it closed.
    const started = await Promise.allSettled([
      startRedis(dir.path).then((r) => (parts.redis = r)),
      startPostgres(dir.path).then((p) => (parts.postgres = p)),
      startFakeOpenAI().then((f) => (parts.fake = f)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    const { redis, postgres, fake } = parts as Required<typeof parts>;
    const adminKey = `pk_fault_admin_${randomBytes(12).toString('hex')}`;
    const env = {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'parley-fault:',
      PARLEY_ADMIN_KEY: adminKey,
      PARLEY_PROVIDERS: JSON.stringify({ fake: { baseUrl: fake.url, apiKey: 'x', maxRetries: 0, ...opts.provider } }),
      PARLEY_MODELS: JSON.stringify({ [FAULT_MODEL]: { inputPricePer1M: 1, outputPricePer1M: 1 } }),
      PARLEY_DEFAULT_MODEL: FAULT_MODEL,
      LOG_LEVEL: 'info',
      ...opts.env,
    };
    const startApi = async () => track(await spawnParley({ ...env, PARLEY_WORKER: 'off' }, 'src/main.ts', 'Parley is listening', PROCESS_START_MS));
    const startWorker = async () => {
      const w = track(await spawnParley({ ...env, ...opts.workerEnv }, 'src/worker.ts', 'Parley worker is running', PROCESS_START_MS));
      parts.worker = w;
      return w;
    };
    // The first node migrates the fresh database; the others then start against a migrated one.
    parts.api.push(await startApi());
    const [second] = await Promise.all([startApi(), startWorker()]);
    parts.api.push(second);

    const gql = async <T>(node: number, query: string, variables?: Record<string, unknown>, token = adminKey): Promise<GqlResult<T>> => {
      const res = await fetch(parts.api[node].url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GqlResult<T>;
    };
    const ok = <T>(res: GqlResult<T>): T => {
      if (!res.data || res.errors) throw new Error(JSON.stringify(res.errors));
      return res.data;
    };

    const cluster: FaultCluster = {
      redis,
      postgres,
      fake,
      api: parts.api,
      get worker() {
        return parts.worker;
      },
      adminKey,
      gql,
      async newUser() {
        const res = await gql<{ createUser: { apiKey: string } }>(0, 'mutation($input: CreateUserInput!) { createUser(input: $input) { apiKey } }', {
          input: { email: `fault-${randomBytes(4).toString('hex')}@example.com` },
        });
        return ok(res).createUser.apiKey;
      },
      async conversation(token, node = 0) {
        const res = await gql<{ createConversation: { conversation: { id: string } } }>(
          node,
          'mutation { createConversation(input: { title: "fault" }) { conversation { id } } }',
          {},
          token,
        );
        return ok(res).createConversation.conversation.id;
      },
      async send(token, conversationId, content, node = 0) {
        return ok(await gql<SendData>(node, SEND, { input: { conversationId, content } }, token)).sendMessage;
      },
      watch(node, runId, token, after = 0) {
        const client = createClient({
          url: parts.api[node].url.replace('http', 'ws'),
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${token}` },
          retryAttempts: 0,
          lazy: true,
        });
        clients.push(client);
        return watchRun(client, runId, after);
      },
      async waitForRun(runId, token, done = (r) => TERMINAL.has(r.status), timeoutMs = 120_000) {
        const deadline = Date.now() + timeoutMs;
        let last: unknown;
        for (let i = 0; Date.now() < deadline; i++) {
          try {
            const res = await gql<{ run: StoredRun }>(i % parts.api.length, RUN_QUERY, { id: runId }, token);
            last = res.errors ?? res.data?.run;
            if (res.data?.run && done(res.data.run)) return res.data.run;
          } catch (err) {
            last = err; // a node that is failing (its Redis or Postgres went away) answers on a later try
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`run ${runId} did not reach the awaited state in ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
      },
      waitForLog: (proc, match, timeoutMs = 60_000) => waitForLog(proc, match, timeoutMs),
      startWorker,
      async killWorker() {
        const w = parts.worker;
        if (!w) return;
        parts.worker = null;
        w.kill();
        if (w.child.exitCode === null && w.child.signalCode === null) await new Promise((r) => w.child.once('exit', r));
      },
      close,
    };
    return cluster;
  } catch (err) {
    await close();
    throw err;
  }
}

/** Subscribes with `after` and records every event; settles on complete or error. */
export function watchRun(client: Client, runId: string, after = 0): RunWatch {
  const events: RunEventItem[] = [];
  const waiters = new Set<() => void>();
  const done = new Promise<{ events: RunEventItem[]; error?: RunEventsError }>((resolve, reject) => {
    client.subscribe<RunEventsData>(
      { query: RUN_EVENTS, variables: { runId, after } },
      {
        next: (value) => {
          // A `next` with errors (an event that failed to resolve) is a failure too: keep it visible.
          if (value.errors?.length) return resolve({ events, error: value.errors[0] as RunEventsError });
          events.push(value.data!.runEvents);
          for (const w of [...waiters]) w();
        },
        error: (err) => {
          if (Array.isArray(err)) resolve({ events, error: err[0] as RunEventsError });
          else reject(err instanceof Error ? err : new Error(`runEvents socket failed: ${JSON.stringify(err)}`));
        },
        complete: () => resolve({ events }),
      },
    );
  });
  const settled = done.then(
    () => undefined,
    () => undefined,
  );
  return {
    events,
    done,
    waitFor(pred) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pred(events)) return false;
          waiters.delete(check);
          resolve();
          return true;
        };
        if (check()) return;
        waiters.add(check);
        // The stream ended before the condition held: it never will.
        void settled.then(() => {
          if (waiters.delete(check) && !pred(events)) reject(new Error(`runEvents ended before the awaited event; got ${events.length}`));
        });
      });
    },
  };
}

export function waitForLog(proc: ParleyProcess, match: (entry: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  return new Promise((resolve, reject) => {
    // `logs` is filled line by line as the process writes; scan what is new on each tick.
    const scan = () => {
      for (; seen < proc.logs.length; seen++) {
        let entry: unknown;
        try {
          entry = JSON.parse(proc.logs[seen]);
        } catch {
          continue; // not a JSON log line
        }
        if (entry && typeof entry === 'object' && match(entry as Record<string, unknown>)) return resolve(entry as Record<string, unknown>);
      }
      if (Date.now() > deadline) return reject(new Error(`no matching log line in ${timeoutMs} ms:\n${proc.logs.slice(-30).join('\n')}`));
      setTimeout(scan, 20);
    };
    scan();
  });
}

/** Tokens of a long answer, each distinct, so a skipped or repeated one shows in the text. */
export function numberedTokens(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `w${i + 1} `);
}

/** The answer text carried by a run's TokenDelta events. */
export function tokenText(events: RunEventItem[]): string {
  return events
    .filter((e) => e.__typename === 'TokenDelta')
    .map((e) => e.text ?? '')
    .join('');
}
