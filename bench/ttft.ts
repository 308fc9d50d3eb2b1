/**
 * npm run bench:ttft — what Parley adds to the time to the first token.
 *
 * Starts a fake OpenAI-compatible upstream (this process) and measures, one
 * after the other in the same run, the time from the start of a request to
 * the first token the client receives:
 *   direct:  the openai SDK straight to the upstream (the baseline);
 *   floor:   the topology floor of bench/floor-relay.ts (API process, worker
 *            process, one commit, one queue hop, Redis, WebSocket);
 *   inline:  `npm start`'s topology — one `node dist/src/main.js` with its
 *            inline worker, Redis on;
 *   split:   an API node with PARLEY_WORKER=off and a `node dist/src/worker.js`.
 * For Parley a run is the `sendMessage` mutation, then a `runEvents`
 * subscription on an open graphql-ws socket, as a UI does it. Each subject is
 * also measured after BENCH_IDLE_MS of idleness (every process idle), each
 * idle run followed by a warm one.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startFakeOpenAI, now, type FakeOpenAI } from '../test/support/fake-openai';
import { spawnParley, type ParleyProcess } from '../test/support/process';
import { dropDatabase, dropRedisKeys, scratchDatabaseUrl } from '../scripts/scratch-db';
import { ensureDatabase } from '../src/db/orm';
import { summary, round } from './stats';
import { gqlClient, runBenchmark, writeResult } from './harness';

const RUNS = Number(process.env.BENCH_TTFT_RUNS ?? 40);
const IDLE_ROUNDS = Number(process.env.BENCH_IDLE_ROUNDS ?? 4);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 5);
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 10);
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Comma-separated subset of direct,floor,inline,split (default: all). */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'direct,floor,inline,split').split(','));

const scenario = () => ({ kind: 'stream' as const, text: Array.from({ length: TOKENS }, (_, i) => `w${i} `), delayMs: DELAY_MS, usage: { promptTokens: 10, completionTokens: TOKENS } });

/** One run's timeline, in ms from the start of its request. */
interface Sample {
  ttft: number;
  /** Parley: the sendMessage response; floor: the /send response. */
  acknowledged?: number;
  /** When the upstream received the model request. */
  upstream?: number;
}

/** What a subject does for one run; `prepare` happens before the clock starts (and before an idle pause). */
interface Subject {
  prepare(): Promise<unknown>;
  run(prepared: unknown): Promise<Sample>;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function directSubject(fake: FakeOpenAI): Subject {
  const client = new OpenAI({ baseURL: fake.url, apiKey: 'x', maxRetries: 0 });
  return {
    prepare: async () => undefined,
    run: async () => {
      fake.enqueue(scenario());
      const record = fake.requests.length;
      const start = now();
      const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
      let ttft: number | undefined;
      for await (const chunk of stream) if (ttft === undefined && chunk.choices[0]?.delta?.content) ttft = now() - start;
      return { ttft: ttft!, upstream: fake.requests[record].receivedAt - start };
    },
  };
}

/** Starts bench/floor-relay.js in a role (copied from bench/stream.ts) and resolves with its ready line. */
function startRelay(args: string[], children: ChildProcess[]): Promise<{ port?: number }> {
  const child = spawn(process.execPath, [join(__dirname, 'floor-relay.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`floor relay ${args[0]} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line) as { port?: number }));
  });
}

async function floorSubject(fake: FakeOpenAI, databaseUrl: string, children: ChildProcess[]): Promise<Subject & { close(): void }> {
  const channel = `parley-bench-ttft-${randomBytes(4).toString('hex')}`;
  const { port } = await startRelay(['api', REDIS_URL, channel, databaseUrl], children);
  await startRelay(['worker', REDIS_URL, channel, databaseUrl, fake.url], children);
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return {
    prepare: async () => undefined,
    run: async () => {
      fake.enqueue(scenario());
      const record = fake.requests.length;
      let first: number | undefined;
      const done = new Promise<void>((resolve) => {
        const onMessage = (data: WebSocket.RawData) => {
          if (String(data) === '\u0000done') {
            ws.off('message', onMessage);
            resolve();
          } else first ??= now();
        };
        ws.on('message', onMessage);
      });
      const start = now();
      await fetch(`http://127.0.0.1:${port}/send`, { method: 'POST', body: 'hi' }).then((res) => res.text());
      const acknowledged = now() - start;
      await within(done, 30_000, 'a floor run');
      return { ttft: first! - start, acknowledged, upstream: fake.requests[record].receivedAt - start };
    },
    close: () => ws.close(),
  };
}

function parleySubject(fake: FakeOpenAI, url: string, adminKey: string, clients: Client[]): Subject {
  const gql = gqlClient(url, adminKey);
  const sub = createClient({ url: url.replace('http', 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${adminKey}` }, retryAttempts: 0, keepAlive: 0, lazy: false });
  clients.push(sub);
  const firstToken = (runId: string): Promise<number> =>
    new Promise((resolve, reject) => {
      let first: number | undefined;
      sub.subscribe<{ runEvents: { __typename: string } }>(
        { query: 'subscription($id: ID!) { runEvents(runId: $id, after: 0) { __typename ... on TokenDelta { text } } }', variables: { id: runId } },
        {
          next: (v) => {
            if (v.data?.runEvents.__typename === 'TokenDelta') first ??= now();
          },
          error: reject,
          complete: () => (first === undefined ? reject(new Error(`run ${runId} sent no token`)) : resolve(first)),
        },
      );
    });
  return {
    prepare: async () => {
      const data = (await gql('mutation { createConversation(input: { title: "ttft", settings: { model: "up/m" } }) { conversation { id } } }', {})) as { createConversation: { conversation: { id: string } } };
      return data.createConversation.conversation.id;
    },
    run: async (conversationId) => {
      fake.enqueue(scenario());
      const record = fake.requests.length;
      const start = now();
      const data = (await gql('mutation($c: ID!) { sendMessage(input: { conversationId: $c, content: "hi" }) { run { id } } }', { c: conversationId })) as { sendMessage: { run: { id: string } } };
      const acknowledged = now() - start;
      const first = await within(firstToken(data.sendMessage.run.id), 30_000, 'a Parley run');
      return { ttft: first - start, acknowledged, upstream: fake.requests[record].receivedAt - start };
    },
  };
}

/** Three warm-up runs, then `RUNS` sequential ones, then `IDLE_ROUNDS` × (idle pause, one run, one warm run). */
async function measure(subject: Subject, label: string) {
  for (let i = 0; i < 3; i++) await subject.run(await subject.prepare());
  const warm: Sample[] = [];
  for (let i = 0; i < RUNS; i++) warm.push(await subject.run(await subject.prepare()));
  const idle: Sample[] = [];
  const afterIdle: Sample[] = [];
  for (let i = 0; i < IDLE_ROUNDS; i++) {
    const [a, b] = [await subject.prepare(), await subject.prepare()];
    await sleep(IDLE_MS);
    idle.push(await subject.run(a));
    afterIdle.push(await subject.run(b));
  }
  const pick = (samples: Sample[], key: keyof Sample) => samples.map((s) => s[key]).filter((v): v is number => v !== undefined);
  const describe = (samples: Sample[]) => ({
    ttft: summary(pick(samples, 'ttft')),
    acknowledged: samples.some((s) => s.acknowledged !== undefined) ? summary(pick(samples, 'acknowledged')) : undefined,
    upstreamRequest: summary(pick(samples, 'upstream')),
  });
  const result = { warm: describe(warm), idle: { ...describe(idle), samples: pick(idle, 'ttft').map((v) => round(v)) }, warmAfterIdle: { ...describe(afterIdle), samples: pick(afterIdle, 'ttft').map((v) => round(v)) } };
  console.error(`${label}: ttft p50 ${result.warm.ttft.p50} p90 ${result.warm.ttft.p90}; idle p50 ${result.idle.ttft.p50} vs warm ${result.warmAfterIdle.ttft.p50}`);
  return result;
}

async function main(): Promise<void> {
  const fake = await startFakeOpenAI();
  const databaseUrl = scratchDatabaseUrl('ttft');
  await ensureDatabase(databaseUrl);
  const adminKey = `pk_bench_${randomBytes(12).toString('hex')}`;
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: `parley-bench-${randomBytes(4).toString('hex')}:`,
    PARLEY_ADMIN_KEY: adminKey,
    PARLEY_PROVIDERS: JSON.stringify({ up: { baseUrl: fake.url, apiKey: 'x' } }),
    // One user starts every run: the per-user rate limit is not what this measures (the active-run cap stays on).
    PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: '100000',
    PARLEY_RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn',
  };
  const processes: ParleyProcess[] = [];
  const children: ChildProcess[] = [];
  const clients: Client[] = [];
  const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
  const stopAll = async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    for (const p of processes.splice(0).reverse()) await p.stop();
  };
  try {
    if (ONLY.has('direct')) results.direct = await measure(directSubject(fake), 'direct');
    if (ONLY.has('floor')) {
      const floor = await floorSubject(fake, databaseUrl, children);
      results.floor = await measure(floor, 'floor');
      floor.close();
      for (const c of children.splice(0)) c.kill();
    }
    if (ONLY.has('inline')) {
      // `npm start`: one process, API and worker, Redis on.
      const node = await spawnParley({ ...env, LOG_LEVEL: 'info' }, 'dist/src/main.js');
      processes.push(node);
      results.inline = await measure(parleySubject(fake, node.url, adminKey, clients), 'inline');
      await stopAll();
    }
    if (ONLY.has('split')) {
      const api = await spawnParley({ ...env, PARLEY_WORKER: 'off', LOG_LEVEL: 'info' }, 'dist/src/main.js');
      processes.push(api);
      // A worker serves metrics on a port of its own when the code has them (any free one here).
      processes.push(await spawnParley({ ...env, LOG_LEVEL: 'info', PARLEY_METRICS_PORT: '0' }, 'dist/src/worker.js', 'Parley worker is running'));
      results.split = await measure(parleySubject(fake, api.url, adminKey, clients), 'split');
      await stopAll();
    }
    const direct = results.direct?.warm.ttft;
    const over = (s: { p50: number; p90: number } | undefined) => (s && direct ? { p50: round(s.p50 - direct.p50), p90: round(s.p90 - direct.p90) } : undefined);
    const result = {
      date: new Date().toISOString(),
      machine: `${process.platform} ${process.arch}, node ${process.version}`,
      settings: { runs: RUNS, idleRounds: IDLE_ROUNDS, idleMs: IDLE_MS, tokens: TOKENS, delayMs: DELAY_MS },
      overheadMs: {
        floor: over(results.floor?.warm.ttft),
        inline: over(results.inline?.warm.ttft),
        split: over(results.split?.warm.ttft),
        splitOverFloorP50: results.split && results.floor ? round(results.split.warm.ttft.p50 - results.floor.warm.ttft.p50) : undefined,
      },
      idleMinusWarmP50Ms: Object.fromEntries(Object.entries(results).map(([k, r]) => [k, round(r.idle.ttft.p50 - r.warmAfterIdle.ttft.p50)])),
      subjects: results,
    };
    console.log(JSON.stringify(result, null, 2));
    writeResult('ttft', result);
  } finally {
    await stopAll();
    for (const c of children) c.kill();
    await fake.close();
    await dropDatabase(databaseUrl).catch(() => undefined);
    await dropRedisKeys(REDIS_URL, env.REDIS_PREFIX).catch(() => undefined);
  }
}

runBenchmark(main);
