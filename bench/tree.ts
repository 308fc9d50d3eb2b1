/**
 * npx ts-node --transpile-only bench/tree.ts — reading a large conversation tree.
 *
 * Builds a 2 000-message conversation with 200 branches in a scratch database
 * (set-based inserts), then times, in one run and against a `select 1` round
 * trip taken in the same run:
 *   SQL:      the exact statements the API sends for the active path
 *             (loadPaths), Conversation.branches, Conversation.usage and a
 *             Conversation.tree page, captured from the ORM and replayed;
 *   GraphQL:  the same reads through a Parley node on that database.
 * Knobs: BENCH_MESSAGES, BENCH_BRANCHES, BENCH_ITERATIONS (≥ 200 by default).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import { dropDatabase, scratchDatabaseUrl } from '../scripts/scratch-db';
import { ensureDatabase, migrate, ormConfig } from '../src/db/orm';
import { loadConfig } from '../src/config';
import { startParley, type ParleyApp } from '../src/server/app';
import { loadPaths } from '../src/modules/messages/message-tree.sql';
import { createConversationLoaders } from '../src/modules/conversations/conversation.loaders';
import { selectBranches, selectTreePage } from '../src/modules/tree/tree.sql';
import { branchUsage } from '../src/modules/usage/usage.sql';
import { buildTree, type BuiltTree } from './tree-fixture';
import { percentile, round } from './stats';
import { gqlClient, runBenchmark, writeResult } from './harness';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
const BRANCHES = Number(process.env.BENCH_BRANCHES ?? 200);
const ITERATIONS = Math.max(1, Number(process.env.BENCH_ITERATIONS ?? 200));
const WARMUP = 20;
/** Fewer iterations for the measures that hydrate entities: they are far slower than the rest. */
const DIRECT_ITERATIONS = Number(process.env.BENCH_DIRECT_ITERATIONS ?? 30);
const TARGET_ACTIVE_PATH_P95_MS = 20;

interface Captured {
  sql: string;
  params: unknown[];
}

interface Row {
  name: string;
  kind: 'sql' | 'graphql';
  statements: number | null;
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  rows?: number;
  /** p50 of the statement's execution time inside Postgres (EXPLAIN ANALYZE), without the wire and the driver. */
  serverP50?: number;
}

/** Runs `fn` WARMUP times untimed, then `n` times timed; returns milliseconds. */
async function measure(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

const stats = (samples: number[]) => ({
  n: samples.length,
  p50: round(percentile(samples, 50), 3),
  p95: round(percentile(samples, 95), 3),
  p99: round(percentile(samples, 99), 3),
  max: round(Math.max(...samples), 3),
});

/** The statements `fn` sends, taken from the ORM's onQuery hook: replaying them times exactly what the API runs. */
async function capture(recorder: { on: Captured[] | null }, fn: () => Promise<unknown>): Promise<Captured[]> {
  const out: Captured[] = [];
  recorder.on = out;
  try {
    await fn();
  } finally {
    recorder.on = null;
  }
  return out;
}


async function sqlRows(em: EntityManager, tree: BuiltTree, recorder: { on: Captured[] | null }): Promise<Row[]> {
  const conn = em.getConnection();
  const replay = (c: Captured) => conn.execute(c.sql, c.params);
  const serverTime = async (c: Captured): Promise<number> => {
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const [plan] = await conn.execute<{ 'QUERY PLAN': [{ 'Execution Time': number }] }[]>(`explain (analyze, timing off, format json) ${c.sql}`, c.params);
      times.push(plan['QUERY PLAN'][0]['Execution Time']);
    }
    return round(percentile(times, 50), 3);
  };
  const one = async (name: string, fn: () => Promise<unknown>, n = ITERATIONS): Promise<Row> => {
    const statements = await capture(recorder, fn);
    const rows = (await replay(statements[0])).length;
    const samples = await measure(n, () => replay(statements[0]));
    return { name, kind: 'sql', statements: statements.length, rows, ...stats(samples), serverP50: await serverTime(statements[0]) };
  };
  const direct = async (name: string, fn: () => Promise<unknown>, statements: number): Promise<Row> => {
    const samples = await measure(Math.min(ITERATIONS, DIRECT_ITERATIONS), fn);
    return { name, kind: 'sql', statements, ...stats(samples) };
  };
  const fresh = () => em.fork();
  const firstLeaves = (await selectBranches(fresh(), tree.conversationId, 20)).map((b) => b.leaf.id);
  return [
    await one('select 1 (baseline round trip)', () => conn.execute('select 1')),
    await one('active path (loadPaths SQL)', () => loadPaths(fresh(), [tree.activeLeafId])),
    await one('branches, first 20 + usage (one aggregate)', () => selectBranches(fresh(), tree.conversationId, 21)),
    await one('branches, first 100 + usage (one aggregate)', () => selectBranches(fresh(), tree.conversationId, 101)),
    await one('conversation usage (one aggregate)', () => createConversationLoaders(fresh()).usageByConversation.load(tree.conversationId)),
    await one('tree page, first 100 (pre-order)', () => selectTreePage(fresh(), tree.conversationId, 101)),
    // For comparison: per-leaf usage walking up from 20 leaves (usage.sql branchUsage), instead of one walk down.
    await one('  (alt) branchUsage of those 20 leaves', () => branchUsage(fresh(), firstLeaves)),
    // The whole of loadPaths, SQL plus turning 1 000+ rows into entities (what Conversation.messages pays).
    await direct('active path incl. entity mapping (loadPaths())', () => loadPaths(fresh(), [tree.activeLeafId]), 1),
  ];
}

async function graphqlRows(app: ParleyApp, key: string, tree: BuiltTree): Promise<Row[]> {
  const gql = gqlClient(app.url, key);
  const id = tree.conversationId;
  const one = async (name: string, query: string, n = ITERATIONS): Promise<Row> => {
    const samples = await measure(n, () => gql(query, { id }));
    return { name, kind: 'graphql', statements: null, ...stats(samples) };
  };
  return [
    await one('viewer { id } (baseline round trip)', '{ viewer { id } }'),
    await one('conversation { messages(first: 100) }', 'query($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node { id role content } } } } }'),
    await one('conversation { branches(first: 20) }', 'query($id: ID!) { conversation(id: $id) { branches(first: 20) { edges { node { length isActive leaf { id } usage { totalTokens costUsd } } } } } }'),
    await one('conversation { usage }', 'query($id: ID!) { conversation(id: $id) { usage { totalTokens costUsd } } }'),
    await one('conversation { tree(first: 100) }', 'query($id: ID!) { conversation(id: $id) { tree(first: 100) { edges { node { id parentId depth siblingIndex childCount preview } } } } }'),
  ];
}

function print(rows: Row[]): void {
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v)).padStart(9);
  console.log(`${pad('measure', 58)}      n    p50 ms    p95 ms    p99 ms    max ms  stmts  in-db p50 ms  rows`);
  for (const r of rows) {
    console.log(`${pad(`[${r.kind}] ${r.name}`, 58)}${String(r.n).padStart(7)}${num(r.p50)} ${num(r.p95)} ${num(r.p99)} ${num(r.max)}  ${String(r.statements ?? '').padStart(5)}  ${num(r.serverP50).padStart(12)}  ${r.rows ?? ''}`);
  }
}

async function main(): Promise<void> {
  const url = scratchDatabaseUrl('bench');
  await ensureDatabase(url);
  const recorder: { on: Captured[] | null } = { on: null };
  const orm = await MikroORM.init({
    ...ormConfig({ clientUrl: url }),
    onQuery: (sql: string, params: readonly unknown[]) => {
      recorder.on?.push({ sql, params: [...params] });
      return sql;
    },
  });
  let app: ParleyApp | undefined;
  try {
    await migrate(orm);
    const built = performance.now();
    const tree = await buildTree(orm.em.fork(), { messages: MESSAGES, branches: BRANCHES, sideLength: 5 });
    const buildMs = performance.now() - built;
    // Planner statistics as a live database would have them (autovacuum analyzes after a bulk load like this one).
    await orm.em.getConnection().execute('analyze');
    const loadAtStart = loadavg();
    console.log(
      `Built ${MESSAGES} messages, ${tree.leaves} branches (trunk ${tree.trunkLength}, active path ${tree.trunkLength} messages, ` +
        `max depth ${tree.maxDepth}) in ${Math.round(buildMs)} ms. ${ITERATIONS} timed iterations each after ${WARMUP} warm-up. ` +
        `${cpus().length} cores, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}.\n`,
    );
    const sql = await sqlRows(orm.em.fork(), tree, recorder);

    const adminKey = `pk_bench_${randomBytes(12).toString('hex')}`;
    app = await startParley(
      loadConfig({ DATABASE_URL: url, PORT: '0', HOST: '127.0.0.1', PARLEY_ADMIN_KEY: adminKey, PARLEY_WORKER: 'off', LOG_LEVEL: 'silent' }),
    );
    const graphql = await graphqlRows(app, adminKey, tree);
    const rows = [...sql, ...graphql];
    print(rows);

    const active = sql.find((r) => r.name.startsWith('active path'))!;
    const verdict = active.statements === 1 && active.p95 < TARGET_ACTIVE_PATH_P95_MS;
    console.log(`\nTarget: active path in one statement under ${TARGET_ACTIVE_PATH_P95_MS} ms p95 → ${active.statements} statement, p95 ${active.p95} ms ${verdict ? 'MET' : 'MISSED'}`);
    const result = {
      at: new Date().toISOString(),
      node: process.version,
      machine: { cores: cpus().length, loadAverageAtStart: loadAtStart.map((l) => round(l)) },
      shape: { messages: MESSAGES, branches: tree.leaves, trunk: tree.trunkLength, activePathLength: tree.trunkLength, maxDepth: tree.maxDepth },
      iterations: ITERATIONS,
      warmup: WARMUP,
      buildMs: round(buildMs),
      target: { activePathP95Ms: TARGET_ACTIVE_PATH_P95_MS, met: verdict },
      rows,
    };
    writeResult('tree', result);
  } finally {
    await app?.stop();
    await orm.close(true);
    await dropDatabase(url);
  }
}

runBenchmark(main);
