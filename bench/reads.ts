/**
 * npm run bench:reads — the nested list query under concurrent load.
 *
 *   conversations(first: 50) { edges { node { title messages(first: 20) { edges { node { role content } } } } } }
 *
 * Builds one user's 50 conversations × 20 messages (one branch each, set-based
 * inserts) in a scratch database, starts a Parley node in this process and, in
 * the same run, a floor: one hand-written SQL statement (prepared, through a
 * `pg` pool as large as Parley's) whose rows a bare `node:http` handler turns
 * into the same JSON. A child process (bench/http-load.ts) drives each with
 * `connections` keep-alive connections in a closed loop; this process reads its
 * own CPU time over the timed window, so CPU per request is server work only.
 * Statements per request are counted once through the ORM's query log.
 * Knobs: BENCH_CONNECTIONS (16), BENCH_SECONDS (15), BENCH_WARMUP_SECONDS (3),
 * BENCH_CONVERSATIONS (50), BENCH_MESSAGES (20 per conversation),
 * BENCH_PARLEY_ONLY=1 (no floor run), BENCH_CPU_PROFILE=<dir> (profiles of the timed windows),
 * BENCH_SHOW_STATEMENTS=1 (prints the statements of one request).
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import { dropDatabase, scratchDatabaseUrl } from '../scripts/scratch-db';
import { ensureDatabase, migrate, ormConfig } from '../src/db/orm';
import { newId } from '../src/db/base.entity';
import { loadConfig } from '../src/config';
import { startParley, type ParleyApp } from '../src/server/app';
import { MessageRole, MessageStatus } from '../src/modules/messages/message.entity';
import { insertMessages, type MessageRow } from '../src/modules/transfer/transfer.sql';
import { percentile, round } from './stats';
import { runBenchmark, writeResult } from './harness';
import type { LoadJob, LoadResult } from './http-load';

const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 50);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
/** Parley's default pool size (db/orm.ts); the floor gets the same. */
const POOL_MAX = 10;
const TARGET = { reqPerSecFactor: 10, p99Ms: 300, cpuMsPerRequest: 15, statements: 3 };
/** Measured on the code before plain-row reads (bench/README.md), the base of the ×10 target. */
const BEFORE_REQ_PER_SEC = Number(process.env.BENCH_BEFORE_RPS ?? 0);

const QUERY = `query($first: Int!, $messages: Int!) { conversations(first: $first) { edges { node { title messages(first: $messages) { edges { node { role content } } } } } } }`;

const words = 'the a branch model answer question context token tree message reply summary'.split(' ');
const text = (i: number, length: number) => Array.from({ length }, (_, k) => words[(i * 7 + k) % words.length]).join(' ');

/** One user's conversations, each a single branch of `MESSAGES` alternating USER / ASSISTANT messages. */
async function buildConversations(em: EntityManager, ownerId: string): Promise<void> {
  const conn = em.getConnection();
  await em.transactional(async (tx) => {
    const ctx = tx.getTransactionContext();
    const start = Date.UTC(2026, 0, 1);
    for (let c = 0; c < CONVERSATIONS; c++) {
      const conversationId = newId();
      await conn.execute(
        `insert into conversations (id, created_at, updated_at, owner_id, title, tags, settings, version)
         values (?, now(), ?, ?, ?, '{bench}', '{}', 1)`,
        [conversationId, new Date(start + c * 3_600_000), ownerId, `Conversation ${c}`],
        'all',
        ctx,
      );
      const rows: MessageRow[] = [];
      for (let d = 0; d < MESSAGES; d++) {
        const assistant = d % 2 === 1;
        rows.push({
          id: newId(),
          parentId: d ? rows[d - 1].id : null,
          depth: d,
          role: assistant ? MessageRole.ASSISTANT : MessageRole.USER,
          content: text(c * MESSAGES + d, assistant ? 60 : 20),
          reasoning: null,
          toolCalls: [],
          toolCallId: null,
          model: assistant ? 'demo/demo' : null,
          promptTokens: assistant ? 50 + d * 40 : 0,
          completionTokens: assistant ? 150 : 0,
          reasoningTokens: 0,
          cachedTokens: 0,
          costUsd: 0,
          latencyMs: assistant ? 900 : null,
          status: MessageStatus.COMPLETE,
          createdAt: new Date(start + c * 3_600_000 + d * 60_000),
          pinned: false,
          excluded: false,
        });
      }
      await insertMessages(tx, conversationId, rows);
      await conn.execute('update conversations set active_leaf_id = ? where id = ?', [rows[rows.length - 1].id, conversationId], 'all', ctx);
    }
  });
}

/**
 * The floor: the page of conversations and the first messages of each active
 * branch in one prepared statement, grouped and serialized as the GraphQL
 * response would be, by a bare HTTP handler.
 */
const FLOOR_SQL = `with recursive listed as (
    select id, title, active_leaf_id, updated_at from conversations
     where owner_id = $1 and archived_at is null
     order by updated_at desc, id desc limit $2
  ), path as (
    select m.id, m.parent_id, m.depth, l.id as conversation_id from listed l join messages m on m.id = l.active_leaf_id
    union all
    select p.id, p.parent_id, p.depth, path.conversation_id from messages p join path on p.id = path.parent_id
  )
  select l.id as conversation_id, l.title, m.role, m.content
    from listed l left join path on path.conversation_id = l.id and path.depth < $3 left join messages m on m.id = path.id
   order by l.updated_at desc, l.id desc, path.depth`;

async function startFloor(url: string, ownerId: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const pool = new Pool({ connectionString: url, max: POOL_MAX });
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      pool.query<{ conversation_id: string; title: string; role: string | null; content: string | null }>({ name: 'floor_reads', text: FLOOR_SQL, values: [ownerId, CONVERSATIONS, MESSAGES] }).then(
        ({ rows }) => {
          const edges: { node: { title: string; messages: { edges: { node: { role: string; content: string } }[] } } }[] = [];
          let last: string | undefined;
          for (const r of rows) {
            if (r.conversation_id !== last) {
              edges.push({ node: { title: r.title, messages: { edges: [] } } });
              last = r.conversation_id;
            }
            if (r.role !== null) edges[edges.length - 1].node.messages.edges.push({ node: { role: r.role, content: r.content! } });
          }
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ data: { conversations: { edges } } }));
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    stop: async () => {
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
    },
  };
}

interface Measured {
  name: string;
  requests: number;
  failures: number;
  reqPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  cpuMsPerRequest: number;
  kbPerResponse: number;
}

/**
 * BENCH_CPU_PROFILE=<dir>: a V8 CPU profile of this process over each timed
 * window only (no start-up, no fixture), as <dir>/reads-<floor|parley>.cpuprofile;
 * with BENCH_HEAP_PROFILE=1 also a sampled allocation profile (.heapprofile).
 */
function windowProfiler(dir: string | undefined, heap = Boolean(process.env.BENCH_HEAP_PROFILE)) {
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  return {
    start: async () => {
      await post('Profiler.enable');
      await post('Profiler.start');
      if (heap) await post('HeapProfiler.startSampling', { samplingInterval: 32_768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    },
    stop: async (tag: string) => {
      const { profile } = (await post('Profiler.stop')) as { profile: object };
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `reads-${tag}.cpuprofile`), JSON.stringify(profile));
      if (heap) {
        const sampled = (await post('HeapProfiler.stopSampling')) as { profile: object };
        writeFileSync(join(dir, `reads-${tag}.heapprofile`), JSON.stringify(sampled.profile));
      }
    },
  };
}

/** Drives `url` from a child process; this process's CPU over the child's timed window is the server's. */
function load(name: string, job: LoadJob): Promise<Measured> {
  const profiler = windowProfiler(process.env.BENCH_CPU_PROFILE);
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'http-load.ts'), [], { execArgv: ['-r', 'ts-node/register/transpile-only'] });
    let cpuAtStart: NodeJS.CpuUsage | undefined;
    let cpu: NodeJS.CpuUsage | undefined;
    child.on('message', (msg: { type: 'measuring' } | { type: 'stopped' } | { type: 'done'; result: LoadResult }) => {
      if (msg.type === 'measuring') {
        cpuAtStart = process.cpuUsage();
        if (profiler) void profiler.start();
      } else if (msg.type === 'stopped') {
        cpu = process.cpuUsage(cpuAtStart);
        if (profiler) void profiler.stop(`${name.split(':')[0]}`);
      } else {
        const r = msg.result;
        const cpuMs = cpu ? (cpu.user + cpu.system) / 1000 : NaN;
        resolve({
          name,
          requests: r.requests,
          failures: r.failures,
          reqPerSec: round(r.requests / (r.elapsedMs / 1000)),
          p50Ms: round(percentile(r.latenciesMs, 50)),
          p90Ms: round(percentile(r.latenciesMs, 90)),
          p99Ms: round(percentile(r.latenciesMs, 99)),
          maxMs: round(Math.max(...r.latenciesMs)),
          cpuMsPerRequest: round(cpuMs / r.requests),
          kbPerResponse: round(r.bytes / r.requests / 1024, 1),
        });
        if (r.firstFailure) console.error(`${name}: first failure: ${r.firstFailure}`);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code) reject(new Error(`load generator exited with ${code}`));
    });
    child.send(job);
  });
}

async function main(): Promise<void> {
  const url = scratchDatabaseUrl('reads');
  await ensureDatabase(url);
  const orm = await MikroORM.init(ormConfig({ clientUrl: url }));
  let app: ParleyApp | undefined;
  let floor: { url: string; stop: () => Promise<void> } | undefined;
  try {
    await migrate(orm);
    const adminKey = `pk_bench_${randomBytes(12).toString('hex')}`;
    const statements: string[] = [];
    let counting = false;
    app = await startParley(
      loadConfig({
        DATABASE_URL: url,
        PORT: '0',
        HOST: '127.0.0.1',
        PARLEY_ADMIN_KEY: adminKey,
        PARLEY_WORKER: 'off',
        LOG_LEVEL: 'silent',
        // One client sending hundreds of queries a second is the point here, not a flood to refuse.
        PARLEY_RATE_LIMIT_QUERIES_PER_MINUTE: '0',
      }),
      { onQuery: (sql) => counting && statements.push(sql) },
    );
    const em = orm.em.fork();
    const [admin] = await em.getConnection().execute<{ id: string }[]>(`select id from users where role = 'ADMIN'`);
    const built = performance.now();
    await buildConversations(em, admin.id);
    const buildMs = performance.now() - built;
    await em.getConnection().execute('analyze');
    floor = await startFloor(url, admin.id);

    const gqlUrl = app.url.replace('localhost', '127.0.0.1');
    const gqlBody = JSON.stringify({ query: QUERY, variables: { first: CONVERSATIONS, messages: MESSAGES } });
    const gqlHeaders = { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` };

    // One request each, untimed: the same data both ways, and Parley's statements counted.
    const post = async (to: string, headers: Record<string, string>, body: string) => (await fetch(to, { method: 'POST', headers, body })).json();
    await post(gqlUrl, gqlHeaders, gqlBody); // settles lastUsedAt bookkeeping and warms caches
    counting = true;
    const parleyOnce = (await post(gqlUrl, gqlHeaders, gqlBody)) as { data?: unknown; errors?: unknown };
    counting = false;
    const floorOnce = (await post(floor.url, {}, '')) as { data?: unknown };
    if (parleyOnce.errors) throw new Error(JSON.stringify(parleyOnce.errors));
    const same = JSON.stringify(parleyOnce.data) === JSON.stringify(floorOnce.data);
    if (!same) throw new Error('the floor does not answer what Parley answers');
    // The ORM's query log colours its lines: the ANSI codes go before looking for the statement's verb.
    const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
    const parleyStatements = statements.map((s) => s.replace(ansi, '')).filter((s) => /\b(select|with|insert|update|delete)\b/i.test(s)).length;
    if (process.env.BENCH_SHOW_STATEMENTS) console.log(statements.join('\n---\n'));

    const loadAtStart = loadavg();
    console.log(
      `${CONVERSATIONS} conversations × ${MESSAGES} messages built in ${Math.round(buildMs)} ms; ${CONNECTIONS} connections, ` +
        `${WARMUP_SECONDS} s warm-up + ${SECONDS} s timed each. ${cpus().length} cores, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}.\n`,
    );
    const job = { connections: CONNECTIONS, warmupMs: WARMUP_SECONDS * 1000, durationMs: SECONDS * 1000 };
    // BENCH_PARLEY_ONLY=1 skips the floor's timed run (for a CPU profile of Parley alone); ratios are then left out.
    const floorRow = process.env.BENCH_PARLEY_ONLY ? undefined : await load('floor: one SQL statement + node:http', { ...job, url: floor.url, headers: {}, body: '' });
    const parleyRow = await load('parley: GraphQL', { ...job, url: gqlUrl, headers: gqlHeaders, body: gqlBody });
    const loadAtEnd = loadavg();

    const rows = floorRow ? [floorRow, parleyRow] : [parleyRow];
    console.log(`${'measure'.padEnd(40)}  requests  req/s   p50 ms   p90 ms   p99 ms   max ms  CPU ms/req  KB/resp`);
    for (const r of rows) {
      console.log(
        `${r.name.padEnd(40)}${String(r.requests).padStart(10)}${String(r.reqPerSec).padStart(7)}${String(r.p50Ms).padStart(9)}${String(r.p90Ms).padStart(9)}` +
          `${String(r.p99Ms).padStart(9)}${String(r.maxMs).padStart(9)}${String(r.cpuMsPerRequest).padStart(12)}${String(r.kbPerResponse).padStart(9)}`,
      );
    }
    const ratio = floorRow && {
      reqPerSec: round(parleyRow.reqPerSec / floorRow.reqPerSec, 3),
      p99: round(parleyRow.p99Ms / floorRow.p99Ms, 2),
      cpuPerRequest: round(parleyRow.cpuMsPerRequest / floorRow.cpuMsPerRequest, 2),
    };
    if (ratio) console.log(`\nParley / floor: req/s ×${ratio.reqPerSec}, p99 ×${ratio.p99}, CPU per request ×${ratio.cpuPerRequest}.`);
    console.log(`Parley statements per request: ${parleyStatements}.`);
    const met = {
      reqPerSec: BEFORE_REQ_PER_SEC ? parleyRow.reqPerSec >= TARGET.reqPerSecFactor * BEFORE_REQ_PER_SEC : null,
      p99: parleyRow.p99Ms < TARGET.p99Ms,
      cpuPerRequest: parleyRow.cpuMsPerRequest <= TARGET.cpuMsPerRequest,
      statements: parleyStatements <= TARGET.statements,
    };
    console.log(
      `Targets: p99 < ${TARGET.p99Ms} ms ${met.p99 ? 'MET' : 'MISSED'}; CPU ≤ ${TARGET.cpuMsPerRequest} ms/request ${met.cpuPerRequest ? 'MET' : 'MISSED'}; ` +
        `≤ ${TARGET.statements} statements ${met.statements ? 'MET' : 'MISSED'}` +
        (BEFORE_REQ_PER_SEC ? `; ≥ ${TARGET.reqPerSecFactor}× ${BEFORE_REQ_PER_SEC} req/s ${met.reqPerSec ? 'MET' : 'MISSED'}` : '') +
        `. Load average at end ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')}.`,
    );
    writeResult('reads', {
      at: new Date().toISOString(),
      node: process.version,
      machine: { cores: cpus().length, loadAverageAtStart: loadAtStart.map((l) => round(l)), loadAverageAtEnd: loadAtEnd.map((l) => round(l)) },
      shape: { conversations: CONVERSATIONS, messagesPerConversation: MESSAGES, connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS },
      query: QUERY,
      parleyStatements,
      buildMs: round(buildMs),
      rows,
      parleyOverFloor: ratio,
      target: { ...TARGET, beforeReqPerSec: BEFORE_REQ_PER_SEC || null, met },
    });
  } finally {
    await floor?.stop();
    await app?.stop();
    await orm.close(true);
    await dropDatabase(url);
  }
}

runBenchmark(main);
