/**
 * npm run bench:stream — what Parley adds on top of a streaming upstream.
 *
 * Starts a paced fake OpenAI-compatible upstream (this process), one Parley API
 * node and one worker process (Redis mode), and compares in the same run:
 *   direct:  the openai SDK streaming straight from the upstream (baseline)
 *   parley:  sendMessage → worker → Redis event log → graphql-ws subscriber
 * Latencies are measured on one clock: chunk send time at the upstream vs
 * receive time at the client, both in this process.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import OpenAI from 'openai';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startFakeOpenAI, now, type FakeOpenAI } from '../test/support/fake-openai';
import { spawnParley, type ParleyProcess } from '../test/support/process';
import { dropDatabase, dropRedisKeys, scratchDatabaseUrl } from '../scripts/scratch-db';
import { ensureDatabase } from '../src/db/orm';
import { summary, round } from './stats';
import { runBenchmark, writeResult } from './harness';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 40);
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 10);
const TTFT_RUNS = Number(process.env.BENCH_TTFT_RUNS ?? 30);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 100);
const FANOUT = Number(process.env.BENCH_FANOUT ?? 100);
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const tokens = () => Array.from({ length: TOKENS }, (_, i) => `w${i} `);
const scenario = (delayMs = DELAY_MS) => ({ kind: 'stream' as const, text: tokens(), delayMs, usage: { promptTokens: 10, completionTokens: TOKENS } });
/** Chunk 0 is the opening role chunk; text token i is chunk i + 1. */
const sentAtOfToken = (sentAt: number[], text: string) => sentAt[Number(text.slice(1)) + 1];

async function gql<T>(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

interface Received { text: string; at: number }

/** The benchmark stops by itself: a run that does not finish in time fails it instead of hanging it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Subscribes to a run and resolves with every TokenDelta's receive time once RunCompleted arrives. */
function watch(client: Client, runId: string): Promise<Received[]> {
  return within(watchRun(client, runId), 60_000, `run ${runId}`);
}

function watchRun(client: Client, runId: string): Promise<Received[]> {
  return new Promise((resolve, reject) => {
    const got: Received[] = [];
    client.subscribe<{ runEvents: { __typename: string; text?: string } }>(
      { query: 'subscription($id: ID!) { runEvents(runId: $id, after: 0) { __typename ... on TokenDelta { text } } }', variables: { id: runId } },
      {
        next: (v) => {
          const e = v.data?.runEvents;
          if (e?.__typename === 'TokenDelta') got.push({ text: e.text!, at: now() });
        },
        error: reject,
        complete: () => resolve(got),
      },
    );
  });
}

async function direct(fake: FakeOpenAI, n: number): Promise<{ perToken: number[]; ttft: number[] }> {
  const client = new OpenAI({ baseURL: fake.url, apiKey: 'x', maxRetries: 0 });
  const perToken: number[] = [];
  const ttft: number[] = [];
  for (let r = 0; r < n; r++) {
    fake.enqueue(scenario());
    const start = now();
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    const record = fake.requests.at(-1)!;
    let first = true;
    for await (const chunk of stream) {
      const text = chunk.choices[0]?.delta?.content;
      if (!text) continue;
      const at = now();
      if (first) ttft.push(at - start);
      first = false;
      perToken.push(at - sentAtOfToken(record.sentAt, text));
    }
  }
  return { perToken, ttft };
}

/** Starts bench/floor-relay.js in a role and resolves with its ready line. */
function startRelay(args: string[], children: ChildProcess[]): Promise<{ port?: number }> {
  const child = spawn(process.execPath, [join(__dirname, 'floor-relay.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`floor relay ${args[0]} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line) as { port?: number }));
  });
}

/**
 * Per-token latency and time to first token through the same topology as a
 * Parley run — HTTP send → API process (one transaction, one queue push) →
 * worker process (one claim, upstream) → Redis → API process → WebSocket →
 * this process — with none of Parley's code: what the machine and the hops
 * alone cost (bench/floor-relay.ts).
 */
async function floor(fake: FakeOpenAI, n: number, databaseUrl: string): Promise<{ perToken: number[]; ttft: number[] }> {
  const channel = `parley-bench-floor-${randomBytes(4).toString('hex')}`;
  const children: ChildProcess[] = [];
  try {
    const { port } = await startRelay(['api', REDIS_URL, channel, databaseUrl], children);
    await startRelay(['worker', REDIS_URL, channel, databaseUrl, fake.url], children);
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const perToken: number[] = [];
    const ttft: number[] = [];
    // Three warm-up runs (JIT, connections), as for the other two paths.
    for (let r = -3; r < n; r++) {
      fake.enqueue(scenario());
      const record = fake.requests.length;
      const got: Received[] = [];
      const done = new Promise<void>((resolve) => {
        const onMessage = (data: WebSocket.RawData) => {
          const text = String(data);
          if (text === '\u0000done') {
            ws.off('message', onMessage);
            resolve();
          } else got.push({ text, at: now() });
        };
        ws.on('message', onMessage);
      });
      const start = now();
      await fetch(`http://127.0.0.1:${port}/send`, { method: 'POST', body: 'hi' }).then((res) => res.text());
      await within(done, 30_000, 'a floor run');
      const rec = fake.requests[record];
      if (r < 0) continue;
      ttft.push(got[0].at - start);
      for (const t of got) perToken.push(t.at - sentAtOfToken(rec.sentAt, t.text));
    }
    ws.close();
    return { perToken, ttft };
  } finally {
    for (const c of children) c.kill();
  }
}

async function main(): Promise<void> {
  const fake = await startFakeOpenAI();
  const databaseUrl = scratchDatabaseUrl('bench');
  await ensureDatabase(databaseUrl);
  const adminKey = `pk_bench_${randomBytes(12).toString('hex')}`;
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: `parley-bench-${randomBytes(4).toString('hex')}:`,
    PARLEY_ADMIN_KEY: adminKey,
    PARLEY_PROVIDERS: JSON.stringify({ up: { baseUrl: fake.url, apiKey: 'x' } }),
    // One user starts every run of the benchmark: the per-user caps are not what it measures.
    PARLEY_MAX_ACTIVE_RUNS_PER_USER: '1000',
    PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn',
  };
  let api: ParleyProcess | undefined;
  let worker: ParleyProcess | undefined;
  const clients: Client[] = [];
  try {
    // The built server, as `npm start` and `npm run worker` run it (compiled by `npm run bench:stream`).
    api = await spawnParley({ ...env, PARLEY_WORKER: 'off', LOG_LEVEL: 'info' }, 'dist/src/main.js');
    worker = await spawnParley({ ...env, LOG_LEVEL: 'info' }, 'dist/src/worker.js', 'Parley worker is running');
    const url = api.url;
    const newConversation = async () =>
      (await gql<{ createConversation: { conversation: { id: string } } }>(url, adminKey, 'mutation { createConversation(input: { title: "bench", settings: { model: "up/m" } }) { conversation { id } } }')).createConversation.conversation.id;
    const send = async (conversationId: string) =>
      (await gql<{ sendMessage: { run: { id: string } } }>(url, adminKey, 'mutation($c: ID!) { sendMessage(input: { conversationId: $c, content: "hi" }) { run { id } } }', { c: conversationId })).sendMessage.run.id;
    const ws = () => {
      const c = createClient({ url: url.replace('http', 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${adminKey}` }, retryAttempts: 0, keepAlive: 0 });
      clients.push(c);
      return c;
    };

    // Warm up both paths (JIT, connection pools, prepared Lua script).
    await direct(fake, 3);
    const warm = ws();
    for (let i = 0; i < 3; i++) {
      fake.enqueue(scenario(1));
      const c = await newConversation();
      await watch(warm, await send(c));
    }

    // 1. Per-token latency and time to first token, sequential runs.
    const base = await direct(fake, TTFT_RUNS);
    const floorRuns = await floor(fake, TTFT_RUNS, databaseUrl);
    const parleyPerToken: number[] = [];
    const parleyLaterTokens: number[] = [];
    const parleyTtft: number[] = [];
    const phases = { mutation: [] as number[], toUpstream: [] as number[], upstreamFirstChunk: [] as number[] };
    const sub = ws();
    for (let r = 0; r < TTFT_RUNS; r++) {
      fake.enqueue(scenario());
      const c = await newConversation();
      const start = now();
      // Subscribing right after the mutation is what a UI does; replay covers any event before it.
      const record = fake.requests.length;
      const runId = await send(c);
      phases.mutation.push(now() - start);
      const got = await watch(sub, runId);
      const rec = fake.requests[record] ?? fake.requests.at(-1)!;
      parleyTtft.push(got[0].at - start);
      phases.toUpstream.push(rec.receivedAt - start);
      phases.upstreamFirstChunk.push(sentAtOfToken(rec.sentAt, got[0].text) - start);
      got.forEach((t, i) => {
        const latency = t.at - sentAtOfToken(rec.sentAt, t.text);
        parleyPerToken.push(latency);
        // The first token can race the subscription's own setup (authorize, replay) right after the mutation.
        if (i > 0) parleyLaterTokens.push(latency);
      });
    }

    // 2. Throughput: CONCURRENT runs at once, one subscriber each; count every token.
    const convs = await Promise.all(Array.from({ length: CONCURRENT }, newConversation));
    for (let i = 0; i < CONCURRENT; i++) fake.enqueue(scenario());
    const burstStart = now();
    const runIds = await Promise.all(convs.map(send));
    const subs = Array.from({ length: 10 }, ws);
    const results = await Promise.all(runIds.map((id, i) => watch(subs[i % subs.length], id)));
    const burstMs = now() - burstStart;
    const delivered = results.reduce((n, r) => n + r.length, 0);
    const lost = CONCURRENT * TOKENS - delivered;
    const inOrder = results.every((r) => r.every((t, i) => t.text === `w${i} `));

    // 3. Fan-out: one run, FANOUT subscribers. The upstream waits 1.5 s before its first token so that
    // every subscriber is attached and tokens are measured live, not replayed after subscription setup.
    fake.enqueue({ ...scenario(), initialDelayMs: 1500 });
    const fanConv = await newConversation();
    const fanRun = await send(fanConv);
    const fanRec = fake.requests.length;
    const fanClients = Array.from({ length: Math.min(FANOUT, 20) }, ws);
    const fan = await Promise.all(Array.from({ length: FANOUT }, (_, i) => watch(fanClients[i % fanClients.length], fanRun)));
    const fanRecord = fake.requests[fanRec] ?? fake.requests.at(-1)!;
    const fanLatency = fan.flatMap((got) => got.map((t) => t.at - sentAtOfToken(fanRecord.sentAt, t.text)));
    const fanComplete = fan.every((got) => got.length === TOKENS);

    const directTok = summary(base.perToken);
    const floorTok = summary(floorRuns.perToken);
    const floorTtft = summary(floorRuns.ttft);
    const parleyTok = summary(parleyPerToken);
    const directTtft = summary(base.ttft);
    const parleyTtftS = summary(parleyTtft);
    const result = {
      date: new Date().toISOString(),
      machine: `${process.platform} ${process.arch}, node ${process.version}`,
      settings: { tokens: TOKENS, delayMs: DELAY_MS, ttftRuns: TTFT_RUNS, concurrent: CONCURRENT, fanout: FANOUT },
      perTokenMs: {
        direct: directTok,
        parley: parleyTok,
        parleyAfterFirstToken: summary(parleyLaterTokens),
        addedP50: round(parleyTok.p50 - directTok.p50),
        addedP99: round(parleyTok.p99 - directTok.p99),
        // The same processes and hops with no Parley code (bench/floor-relay.ts): what the topology alone adds.
        topologyFloor: floorTok,
        floorAddedP50: round(floorTok.p50 - directTok.p50),
        floorAddedP99: round(floorTok.p99 - directTok.p99),
      },
      ttftPhasesMs: { mutationReturned: summary(phases.mutation), upstreamRequestReceived: summary(phases.toUpstream), upstreamSentFirstToken: summary(phases.upstreamFirstChunk) },
      ttftMs: {
        direct: directTtft,
        parley: parleyTtftS,
        overheadP50: round(parleyTtftS.p50 - directTtft.p50),
        overheadP90: round(parleyTtftS.p90 - directTtft.p90),
        topologyFloor: floorTtft,
        floorOverheadP50: round(floorTtft.p50 - directTtft.p50),
        floorOverheadP90: round(floorTtft.p90 - directTtft.p90),
      },
      concurrentRuns: { runs: CONCURRENT, expectedTokens: CONCURRENT * TOKENS, delivered, lost, inOrder, wallMs: round(burstMs), tokensPerSecond: round((delivered / burstMs) * 1000) },
      fanout: { subscribers: FANOUT, allComplete: fanComplete, latencyMs: summary(fanLatency) },
    };
    console.log(JSON.stringify(result, null, 2));
    writeResult('stream', result);
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    await worker?.stop();
    await api?.stop();
    await fake.close();
    await dropDatabase(databaseUrl).catch(() => undefined);
    await dropRedisKeys(REDIS_URL, env.REDIS_PREFIX).catch(() => undefined);
  }
}

runBenchmark(main);
