/**
 * npm run bench:flood — does one flooding user slow down another's requests?
 *
 * One Parley API node as its own process (src/main.ts, Redis mode, scratch
 * database), a flooder and a quiet user with the same small library of
 * conversations. In each phase the quiet user sends the list query
 * BENCH_QUIET_RPS times a second, one at a time (well inside its own limit),
 * and records its latency; the flooder keeps BENCH_FLOOD_CONCURRENCY of the
 * same query in flight:
 *   idle       nobody else;
 *   flood      the flooder at full tilt.
 * Both phases run against a node with the query limit on
 * (PARLEY_RATE_LIMIT_QUERIES_PER_MINUTE=BENCH_LIMIT), where the flooder has
 * spent its minute's budget before the flood phase starts (so every flood
 * request is refused), and then one with the limit off (0), so the table
 * shows what the limit buys the quiet user. The server's own CPU time per
 * request is read from /proc. Knobs: BENCH_SECONDS per phase (15), BENCH_LIMIT (600),
 * BENCH_FLOOD_CONCURRENCY (32), BENCH_QUIET_RPS (10). The flooder is a process
 * of its own (this file, BENCH_FLOOD_URL set), so its sending does not sit in
 * the quiet client's event loop; it still shares the machine's cores with the
 * server, as it would not in production.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dropDatabase, dropRedisKeys, scratchDatabaseUrl } from '../scripts/scratch-db';
import { ensureDatabase } from '../src/db/orm';
import { spawnParley } from '../test/support/process';
import { round, summary } from './stats';
import { gqlClient, runBenchmark, writeResult } from './harness';

const REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const LIMIT = Number(process.env.BENCH_LIMIT ?? 600);
const CONCURRENCY = Number(process.env.BENCH_FLOOD_CONCURRENCY ?? 32);
const QUIET_INTERVAL_MS = 1000 / Number(process.env.BENCH_QUIET_RPS ?? 10);

const LIST = `{ viewer { id } conversations(first: 5) { edges { node { id title
  messages(first: 10) { edges { node { id role content } } } } } } }`;

type Outcome = 'ok' | 'refused' | 'error';

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux): the server's share, apart from this process's. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function ask(url: string, key: string): Promise<Outcome> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query: LIST }) });
  const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
  if (!body.errors) return 'ok';
  return body.errors[0].extensions?.code === 'RATE_LIMITED' ? 'refused' : 'error';
}

/** A user with five conversations of ten messages each. */
async function user(url: string, adminKey: string, name: string): Promise<string> {
  const admin = gqlClient(url, adminKey);
  const made = (await admin('mutation($input: CreateUserInput!) { createUser(input: $input) { apiKey } }', {
    input: { email: `${name}-${randomBytes(3).toString('hex')}@bench.example` },
  })) as { createUser: { apiKey: string } };
  const key = made.createUser.apiKey;
  const gql = gqlClient(url, key);
  for (let c = 0; c < 5; c++) {
    const conv = (await gql('mutation { createConversation(input: { title: "bench" }) { conversation { id } } }', {})) as { createConversation: { conversation: { id: string } } };
    for (let m = 0; m < 10; m++) {
      await gql('mutation($input: AppendMessageInput!) { appendMessage(input: $input) { message { id } } }', {
        input: { conversationId: conv.createConversation.conversation.id, role: m % 2 ? 'ASSISTANT' : 'USER', content: `message ${m} `.repeat(20) },
      });
    }
  }
  return key;
}

/** The flooder's side: CONCURRENCY requests in flight for SECONDS, then its counts on stdout. */
async function floodFor(url: string, key: string): Promise<Record<Outcome, number>> {
  const until = performance.now() + SECONDS * 1000;
  const counts: Record<Outcome, number> = { ok: 0, refused: 0, error: 0 };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) counts[await ask(url, key)]++;
    }),
  );
  return counts;
}

function floodProcess(url: string, key: string): Promise<Record<Outcome, number>> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename], {
    env: { ...process.env, BENCH_FLOOD_URL: url, BENCH_FLOOD_KEY: key },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Record<Outcome, number>) : reject(new Error(`flooder exited ${code}`)))));
}

async function phase(url: string, pid: number, quiet: string, flooder: string | undefined) {
  const cpuBefore = cpuMs(pid);
  const until = performance.now() + SECONDS * 1000;
  const flood = flooder ? floodProcess(url, flooder) : Promise.resolve({ ok: 0, refused: 0, error: 0 });
  const latencies: number[] = [];
  let quietErrors = 0;
  while (performance.now() < until) {
    const t = performance.now();
    if ((await ask(url, quiet)) !== 'ok') quietErrors++;
    latencies.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, Math.max(0, QUIET_INTERVAL_MS - (performance.now() - t))));
  }
  const counts = await flood;
  const requests = latencies.length + counts.ok + counts.refused + counts.error;
  return {
    quiet: { ...summary(latencies), errors: quietErrors },
    ...(flooder ? { flooder: { ...counts, rps: round((counts.ok + counts.refused + counts.error) / SECONDS, 0) } } : {}),
    server: { cpuPercent: round(((cpuMs(pid) - cpuBefore) / (SECONDS * 1000)) * 100, 0), cpuMsPerRequest: round((cpuMs(pid) - cpuBefore) / requests) },
  };
}

async function measure(databaseUrl: string, prefix: string, adminKey: string, queriesPerMinute: number, tag: string) {
  const node = await spawnParley({
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    PARLEY_ADMIN_KEY: adminKey,
    PARLEY_WORKER: 'off',
    LOG_LEVEL: 'info', // the ready line is an info line
    PARLEY_RATE_LIMIT_QUERIES_PER_MINUTE: String(queriesPerMinute),
    // The fixture's own writes are not what is measured.
    PARLEY_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
  });
  try {
    const quiet = await user(node.url, adminKey, `quiet-${tag}`);
    const flooder = await user(node.url, adminKey, `flooder-${tag}`);
    for (let i = 0; i < 20; i++) await ask(node.url, quiet); // warm-up: JIT, pools, Lua scripts
    const pid = node.child.pid!;
    const idle = await phase(node.url, pid, quiet, undefined);
    // Spend the flooder's budget first: the flood phase then measures refusals only.
    if (queriesPerMinute > 0) while ((await ask(node.url, flooder)) !== 'refused');
    const flood = await phase(node.url, pid, quiet, flooder);
    return { idle, flood };
  } finally {
    await node.stop();
  }
}

async function main(): Promise<void> {
  const databaseUrl = scratchDatabaseUrl('bench');
  await ensureDatabase(databaseUrl);
  const prefix = `parley-bench-${randomBytes(4).toString('hex')}:`;
  const adminKey = `pk_bench_${randomBytes(12).toString('hex')}`;
  try {
    const limited = await measure(databaseUrl, prefix, adminKey, LIMIT, 'on');
    const unlimited = await measure(databaseUrl, prefix, adminKey, 0, 'off');
    const result = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, loadavg: loadavg().map((l) => round(l)) },
      settings: { seconds: SECONDS, limitPerMinute: LIMIT, floodConcurrency: CONCURRENCY, quietIntervalMs: QUIET_INTERVAL_MS },
      limited,
      unlimited,
    };
    console.log(JSON.stringify(result, null, 2));
    writeResult('flood', result);
  } finally {
    await dropDatabase(databaseUrl);
    await dropRedisKeys(REDIS_URL, prefix);
  }
}

if (process.env.BENCH_FLOOD_URL) {
  runBenchmark(async () => console.log(JSON.stringify(await floodFor(process.env.BENCH_FLOOD_URL!, process.env.BENCH_FLOOD_KEY!))));
} else {
  runBenchmark(main);
}
