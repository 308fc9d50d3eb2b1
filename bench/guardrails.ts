/**
 * npm run bench:guardrails — what the guardrails cost on the hot paths.
 *
 * Two Parley nodes in this process on one scratch database and one Redis
 * prefix: one with every guardrail on at its defaults (limits raised only so
 * the benchmark's own traffic is never refused), one with PARLEY_GUARDRAILS=off.
 * Measured in rounds that alternate which node goes first, so machine noise
 * falls on both alike:
 *   run start:   sendMessage on a fresh conversation, sequential (p50 delta);
 *   per token:   gaps between TokenDelta events of a demo run, received over WebSocket;
 *   nested list: requests/s of a nested conversations → messages → children
 *                query at a fixed concurrency (ratio on/off).
 * Knobs: BENCH_STARTS (300), BENCH_SECONDS per rps block (3), BENCH_CONCURRENCY (8).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { dropDatabase, dropRedisKeys, scratchDatabaseUrl } from '../scripts/scratch-db';
import { ensureDatabase } from '../src/db/orm';
import { loadConfig } from '../src/config';
import { startParley, type ParleyApp } from '../src/server/app';
import { round, summary } from './stats';
import { gqlClient, runBenchmark, writeResult } from './harness';

const REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const STARTS = Number(process.env.BENCH_STARTS ?? 300);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = 4;

const NESTED = `query($first: Int!) { conversations(first: $first) { edges { node { id title
  messages(first: 20) { edges { node { id role content children { id role } } } } } } } }`;
const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { run { id } } }';
const RUN_EVENTS = 'subscription($runId: ID!) { runEvents(runId: $runId) { __typename seq ... on TokenDelta { text } } }';

interface Node {
  name: 'on' | 'off';
  app: ParleyApp;
  gql: (query: string, variables: Record<string, unknown>) => Promise<unknown>;
}

async function startNode(name: Node['name'], env: Record<string, string>, key: string): Promise<Node> {
  const app = await startParley(loadConfig({ ...env, ...(name === 'off' ? { PARLEY_GUARDRAILS: 'off' } : {}) }));
  return { name, app, gql: gqlClient(app.url, key) };
}

/** A user with `n` conversations of a short branched thread each (imported: one statement per conversation). */
async function fixture(node: Node, n: number): Promise<void> {
  const messages = [
    { id: 'u1', parentId: null, role: 'USER', content: 'Question one?' },
    { id: 'a1', parentId: 'u1', role: 'ASSISTANT', content: 'Answer one.' },
    { id: 'a1b', parentId: 'u1', role: 'ASSISTANT', content: 'Another answer.' },
    { id: 'u2', parentId: 'a1', role: 'USER', content: 'Question two?' },
    { id: 'a2', parentId: 'u2', role: 'ASSISTANT', content: 'Answer two.' },
  ];
  for (let i = 0; i < n; i++) {
    await node.gql('mutation($input: ImportConversationInput!) { importConversation(input: $input) { conversation { id } } }', {
      input: { format: 'PARLEY', data: { version: 1, conversation: { title: `bench ${i}` }, messages } },
    });
  }
}

async function newConversations(node: Node, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const data = (await node.gql('mutation { createConversation(input: { title: "start" }) { conversation { id } } }', {})) as {
      createConversation: { conversation: { id: string } };
    };
    ids.push(data.createConversation.conversation.id);
  }
  return ids;
}

async function runStarts(node: Node, conversations: string[]): Promise<number[]> {
  const samples: number[] = [];
  for (const conversationId of conversations) {
    const t = performance.now();
    await node.gql(SEND, { input: { conversationId, content: 'hi' } });
    samples.push(performance.now() - t);
  }
  return samples;
}

/** Milliseconds between consecutive TokenDelta events of one demo run, as a WebSocket client receives them. */
async function tokenGaps(node: Node, key: string, conversationId: string): Promise<number[]> {
  const { sendMessage } = (await node.gql(SEND, { input: { conversationId, content: 'Tell me a long story please' } })) as { sendMessage: { run: { id: string } } };
  const client = createClient({ url: node.app.url.replace('http', 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
  const arrivals: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('run did not finish within 60 s')), 60_000);
      client.subscribe(
        { query: RUN_EVENTS, variables: { runId: sendMessage.run.id } },
        {
          next: (v) => {
            if ((v.data as { runEvents: { __typename: string } } | undefined)?.runEvents.__typename === 'TokenDelta') arrivals.push(performance.now());
          },
          error: (err) => {
            clearTimeout(timer);
            reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
          },
          complete: () => {
            clearTimeout(timer);
            resolve();
          },
        },
      );
    });
  } finally {
    await client.dispose();
  }
  return arrivals.slice(1).map((t, i) => t - arrivals[i]);
}

/** Requests per second of `query` at CONCURRENCY for SECONDS. */
async function rps(node: Node): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await node.gql(NESTED, { first: 10 });
        done++;
      }
    }),
  );
  return done / SECONDS;
}

async function main(): Promise<void> {
  const databaseUrl = scratchDatabaseUrl('bench');
  await ensureDatabase(databaseUrl);
  const prefix = `parley-bench-${randomBytes(4).toString('hex')}:`;
  const adminKey = `pk_bench_${randomBytes(12).toString('hex')}`;
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    PORT: '0',
    HOST: '127.0.0.1',
    PARLEY_ADMIN_KEY: adminKey,
    PARLEY_DEMO_TOKEN_DELAY_MS: '2',
    // The benchmark's own traffic must never be refused: the checks run, their limits are out of reach.
    PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: '1000000',
    PARLEY_RATE_LIMIT_QUERIES_PER_MINUTE: '1000000',
    PARLEY_RATE_LIMIT_MUTATIONS_PER_MINUTE: '1000000',
    PARLEY_MAX_ACTIVE_RUNS_PER_USER: '1000000',
    LOG_LEVEL: 'warn',
  };
  const nodes: Node[] = [];
  try {
    nodes.push(await startNode('on', env, adminKey), await startNode('off', env, adminKey));
    const [on, off] = nodes;
    await fixture(on, 20);
    const conversations = await newConversations(on, 20 + 2 * ROUNDS * Math.ceil(STARTS / ROUNDS) + 4);
    const result: Record<'on' | 'off', { starts: number[]; gaps: number[]; rps: number[] }> = {
      on: { starts: [], gaps: [], rps: [] },
      off: { starts: [], gaps: [], rps: [] },
    };
    // Warm both nodes (JIT, pools, prepared plans) before anything is timed.
    for (const node of nodes) {
      await runStarts(node, conversations.splice(0, 10));
      await rps(node);
    }
    // Rounds alternate which node goes first, so a drift in the machine's load falls on both.
    const perRound = Math.ceil(STARTS / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of round % 2 === 0 ? [on, off] : [off, on]) {
        result[n.name].starts.push(...(await runStarts(n, conversations.splice(0, perRound))));
        result[n.name].rps.push(await rps(n));
      }
    }
    for (const node of [on, off, on, off]) result[node.name].gaps.push(...(await tokenGaps(node, adminKey, conversations.splice(0, 1)[0])));

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const starts = { on: summary(result.on.starts), off: summary(result.off.starts) };
    const gaps = { on: summary(result.on.gaps), off: summary(result.off.gaps) };
    const report = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, loadavg: loadavg().map((l) => round(l)) },
      settings: { STARTS, SECONDS, CONCURRENCY, ROUNDS },
      runStartMs: { ...starts, addedP50: round(starts.on.p50 - starts.off.p50), targetAddedP50: 1 },
      tokenGapMs: { ...gaps, addedP50: round(gaps.on.p50 - gaps.off.p50) },
      nestedListRps: {
        on: result.on.rps.map((r) => round(r, 1)),
        off: result.off.rps.map((r) => round(r, 1)),
        ratio: round(mean(result.on.rps) / mean(result.off.rps), 3),
        targetRatio: 0.95,
      },
    };
    console.log(JSON.stringify(report, null, 2));
    writeResult('guardrails', report);
  } finally {
    for (const node of nodes.reverse()) await node.app.stop();
    await dropDatabase(databaseUrl);
    await dropRedisKeys(REDIS_URL, prefix);
  }
}

runBenchmark(main);
