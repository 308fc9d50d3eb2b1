/**
 * npm run bench:stream — what Parley adds on top of a streaming upstream.
 *
 * Starts a fake OpenAI-compatible upstream (this process) and Parley in Redis
 * mode, in one of two topologies (BENCH_TOPOLOGY):
 *   split  (default): one API node (PARLEY_WORKER=off) and one worker process
 *   inline: one `node dist/src/main.js` with its inline worker, as `npm start` runs it
 * and compares in the same run:
 *   direct:  the openai SDK streaming straight from the upstream (baseline)
 *   floor:   the same processes and hops with none of Parley's code (bench/floor-relay.ts)
 *   parley:  sendMessage → worker → Redis event log → graphql-ws subscriber
 * Latencies are measured on one clock: chunk send time at the upstream vs
 * receive time at the client, both in this process.
 *
 * Sections (BENCH_SECTIONS, comma-separated; default all):
 *   latency     per-token latency and time to first token, paced, sequential runs
 *   concurrent  BENCH_CONCURRENT runs at once, paced, one subscriber each
 *   fanout      one paced run to BENCH_FANOUT subscribers
 *   unpaced     one run of BENCH_UNPACED_TOKENS tokens sent with no delay, BENCH_UNPACED_RUNS times: tokens/s
 *   many        BENCH_MANY_RUNS runs × BENCH_MANY_TOKENS unpaced tokens at once: aggregate tokens/s, lost
 * BENCH_CPU_PROF=<dir> writes CPU profiles of each Parley process there, one per unpaced or many section
 * (bench/cpu-profile.ts).
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { join, relative } from 'node:path';
import OpenAI from 'openai';
import { Redis } from 'ioredis';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startFakeOpenAI, now, type FakeOpenAI } from '../test/support/fake-openai';
import { spawnParley, type ParleyProcess } from '../test/support/process';
import { dropDatabase, dropRedisKeys, scratchDatabaseUrl } from '../scripts/scratch-db';
import { ensureDatabase } from '../src/db/orm';
import { summary, round } from './stats';
import { runBenchmark, writeResult } from './harness';

const TOPOLOGY = process.env.BENCH_TOPOLOGY ?? 'split';
const SECTIONS = new Set((process.env.BENCH_SECTIONS ?? 'latency,concurrent,fanout,unpaced,many').split(',').map((s) => s.trim()));
const TOKENS = Number(process.env.BENCH_TOKENS ?? 40);
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 10);
const TTFT_RUNS = Number(process.env.BENCH_TTFT_RUNS ?? 30);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 100);
const FANOUT = Number(process.env.BENCH_FANOUT ?? 100);
const UNPACED_TOKENS = Number(process.env.BENCH_UNPACED_TOKENS ?? 2000);
const UNPACED_RUNS = Number(process.env.BENCH_UNPACED_RUNS ?? 5);
const MANY_RUNS = Number(process.env.BENCH_MANY_RUNS ?? 100);
const MANY_TOKENS = Number(process.env.BENCH_MANY_TOKENS ?? 200);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The server compiled with this benchmark (dist/ by `npm run bench:stream`, or wherever --outDir put both), from the package root. */
const SERVER = relative(process.cwd(), join(__dirname, '..', 'src'));

if (TOPOLOGY !== 'split' && TOPOLOGY !== 'inline') throw new Error(`BENCH_TOPOLOGY must be split or inline, not ${TOPOLOGY}`);

const tokens = (n: number) => Array.from({ length: n }, (_, i) => `w${i} `);
const scenario = (delayMs = DELAY_MS, n = TOKENS) => ({ kind: 'stream' as const, text: tokens(n), delayMs, usage: { promptTokens: 10, completionTokens: n } });
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
  return within(watchRun(client, runId), 120_000, `run ${runId}`);
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

/** One streamed answer read with the openai SDK: the receive time of each text delta, from `start`. */
async function directStream(client: OpenAI): Promise<{ start: number; got: Received[] }> {
  const start = now();
  const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
  const got: Received[] = [];
  for await (const chunk of stream) {
    const text = chunk.choices[0]?.delta?.content;
    if (text) got.push({ text, at: now() });
  }
  return { start, got };
}

async function direct(fake: FakeOpenAI, n: number): Promise<{ perToken: number[]; ttft: number[] }> {
  const client = new OpenAI({ baseURL: fake.url, apiKey: 'x', maxRetries: 0 });
  const perToken: number[] = [];
  const ttft: number[] = [];
  for (let r = 0; r < n; r++) {
    fake.enqueue(scenario());
    const record = fake.requests.length;
    const { start, got } = await directStream(client);
    const rec = fake.requests[record];
    ttft.push(got[0].at - start);
    for (const t of got) perToken.push(t.at - sentAtOfToken(rec.sentAt, t.text));
  }
  return { perToken, ttft };
}

/** Tokens per second of one streamed answer: between its first and last token, and from the request's start. */
function rate(start: number, got: Received[]): { streaming: number; fromStart: number } {
  const first = got[0].at;
  const last = got[got.length - 1].at;
  return { streaming: last > first ? ((got.length - 1) / (last - first)) * 1000 : Infinity, fromStart: (got.length / (last - start)) * 1000 };
}

function rates(samples: { streaming: number; fromStart: number }[]) {
  const streaming = samples.map((s) => round(s.streaming, 0));
  const fromStart = samples.map((s) => round(s.fromStart, 0));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { streamingTokensPerSecond: streaming, streamingMedian: median(streaming), fromStartTokensPerSecond: fromStart, fromStartMedian: median(fromStart) };
}

interface Relay {
  port: number;
  children: ChildProcess[];
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

/** The floor's processes in this run's topology: an API and a worker relay, or one relay doing both. */
async function startFloor(fake: FakeOpenAI, databaseUrl: string): Promise<Relay> {
  const channel = `parley-bench-floor-${randomBytes(4).toString('hex')}`;
  const children: ChildProcess[] = [];
  try {
    if (TOPOLOGY === 'inline') {
      const { port } = await startRelay(['inline', REDIS_URL, channel, databaseUrl, fake.url], children);
      return { port: port!, children };
    }
    const { port } = await startRelay(['api', REDIS_URL, channel, databaseUrl], children);
    await startRelay(['worker', REDIS_URL, channel, databaseUrl, fake.url], children);
    return { port: port!, children };
  } catch (err) {
    for (const c of children) c.kill();
    throw err;
  }
}

/** One run through the floor: the send's start and the receive time of every delta. */
async function floorRun(ws: WebSocket, port: number): Promise<{ start: number; got: Received[] }> {
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
  return { start, got };
}

/**
 * Per-token latency and time to first token through the same topology as a
 * Parley run — HTTP send → API (one transaction, one queue push) → worker (one
 * claim, upstream) → Redis → API → WebSocket → this process — with none of
 * Parley's code: what the machine and the hops alone cost (bench/floor-relay.ts).
 * Then the unpaced runs, through the same relay.
 */
async function floor(fake: FakeOpenAI, databaseUrl: string) {
  const relay = await startFloor(fake, databaseUrl);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const perToken: number[] = [];
    const ttft: number[] = [];
    if (SECTIONS.has('latency')) {
      // Three warm-up runs (JIT, connections), as for the other two paths.
      for (let r = -3; r < TTFT_RUNS; r++) {
        fake.enqueue(scenario());
        const record = fake.requests.length;
        const { start, got } = await floorRun(ws, relay.port);
        const rec = fake.requests[record];
        if (r < 0) continue;
        ttft.push(got[0].at - start);
        for (const t of got) perToken.push(t.at - sentAtOfToken(rec.sentAt, t.text));
      }
    }
    const unpaced: { streaming: number; fromStart: number }[] = [];
    if (SECTIONS.has('unpaced')) {
      for (let r = -1; r < UNPACED_RUNS; r++) {
        fake.enqueue(scenario(0, UNPACED_TOKENS));
        const { start, got } = await floorRun(ws, relay.port);
        if (got.length !== UNPACED_TOKENS) throw new Error(`floor: ${got.length} of ${UNPACED_TOKENS} unpaced tokens`);
        if (r >= 0) unpaced.push(rate(start, got));
      }
    }
    ws.close();
    return { perToken, ttft, unpaced };
  } finally {
    for (const c of relay.children) c.kill();
  }
}

async function main(): Promise<void> {
  const fake = await startFakeOpenAI();
  const databaseUrl = scratchDatabaseUrl('bench');
  await ensureDatabase(databaseUrl);
  const adminKey = `pk_bench_${randomBytes(12).toString('hex')}`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: `parley-bench-${randomBytes(4).toString('hex')}:`,
    PARLEY_ADMIN_KEY: adminKey,
    PARLEY_PROVIDERS: JSON.stringify({ up: { baseUrl: fake.url, apiKey: 'x' } }),
    // One user starts every run of the benchmark: the per-user caps are not what it measures.
    PARLEY_MAX_ACTIVE_RUNS_PER_USER: '1000',
    PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn',
    // Node refuses --cpu-prof in NODE_OPTIONS; a preloaded inspector session does the same.
    ...(CPU_PROF ? { BENCH_CPU_PROF: CPU_PROF, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(__dirname, 'cpu-profile.js')}`.trim() } : {}),
  };
  const processes: ParleyProcess[] = [];
  const clients: Client[] = [];
  try {
    // The built server, as `npm start` and `npm run worker` run it (compiled by `npm run bench:stream`).
    if (TOPOLOGY === 'inline') {
      processes.push(await spawnParley({ ...env, LOG_LEVEL: 'info' }, join(SERVER, 'main.js')));
    } else {
      processes.push(await spawnParley({ ...env, PARLEY_WORKER: 'off', LOG_LEVEL: 'info' }, join(SERVER, 'main.js')));
      processes.push(await spawnParley({ ...env, LOG_LEVEL: 'info' }, join(SERVER, 'worker.js'), 'Parley worker is running'));
    }
    const url = processes[0].url;
    const newConversation = async () =>
      (await gql<{ createConversation: { conversation: { id: string } } }>(url, adminKey, 'mutation { createConversation(input: { title: "bench", settings: { model: "up/m" } }) { conversation { id } } }')).createConversation.conversation.id;
    const send = async (conversationId: string) =>
      (await gql<{ sendMessage: { run: { id: string } } }>(url, adminKey, 'mutation($c: ID!) { sendMessage(input: { conversationId: $c, content: "hi" }) { run { id } } }', { c: conversationId })).sendMessage.run.id;
    const ws = () => {
      const c = createClient({ url: url.replace('http', 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${adminKey}` }, retryAttempts: 0, keepAlive: 0 });
      clients.push(c);
      return c;
    };
    const sdk = new OpenAI({ baseURL: fake.url, apiKey: 'x', maxRetries: 0 });
    /** Starts or stops the CPU profile of every Parley process (BENCH_CPU_PROF). */
    const toggleProfiles = () => {
      if (CPU_PROF) for (const p of processes) p.child.kill('SIGUSR2');
    };

    // Warm up both paths (JIT, connection pools, prepared Lua script).
    await direct(fake, 3);
    const warm = ws();
    for (let i = 0; i < 3; i++) {
      fake.enqueue(scenario(1));
      const c = await newConversation();
      await watch(warm, await send(c));
    }

    const result: Record<string, unknown> = {
      date: new Date().toISOString(),
      machine: `${process.platform} ${process.arch}, node ${process.version}`,
      topology: TOPOLOGY,
      settings: {
        sections: [...SECTIONS],
        tokens: TOKENS,
        delayMs: DELAY_MS,
        ttftRuns: TTFT_RUNS,
        concurrent: CONCURRENT,
        fanout: FANOUT,
        unpacedTokens: UNPACED_TOKENS,
        unpacedRuns: UNPACED_RUNS,
        manyRuns: MANY_RUNS,
        manyTokens: MANY_TOKENS,
      },
    };

    // Direct and floor first, while nothing of Parley's is running.
    const base = SECTIONS.has('latency') ? await direct(fake, TTFT_RUNS) : { perToken: [], ttft: [] };
    const floorRuns = SECTIONS.has('latency') || SECTIONS.has('unpaced') ? await floor(fake, databaseUrl) : undefined;

    // 1. Per-token latency and time to first token, sequential runs.
    if (SECTIONS.has('latency')) {
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
      const directTok = summary(base.perToken);
      const floorTok = summary(floorRuns!.perToken);
      const floorTtft = summary(floorRuns!.ttft);
      const parleyTok = summary(parleyPerToken);
      const directTtft = summary(base.ttft);
      const parleyTtftS = summary(parleyTtft);
      result.perTokenMs = {
        direct: directTok,
        parley: parleyTok,
        parleyAfterFirstToken: summary(parleyLaterTokens),
        addedP50: round(parleyTok.p50 - directTok.p50),
        addedP99: round(parleyTok.p99 - directTok.p99),
        // The same processes and hops with no Parley code (bench/floor-relay.ts): what the topology alone adds.
        topologyFloor: floorTok,
        floorAddedP50: round(floorTok.p50 - directTok.p50),
        floorAddedP99: round(floorTok.p99 - directTok.p99),
      };
      result.ttftPhasesMs = { mutationReturned: summary(phases.mutation), upstreamRequestReceived: summary(phases.toUpstream), upstreamSentFirstToken: summary(phases.upstreamFirstChunk) };
      result.ttftMs = {
        direct: directTtft,
        parley: parleyTtftS,
        overheadP50: round(parleyTtftS.p50 - directTtft.p50),
        overheadP90: round(parleyTtftS.p90 - directTtft.p90),
        topologyFloor: floorTtft,
        floorOverheadP50: round(floorTtft.p50 - directTtft.p50),
        floorOverheadP90: round(floorTtft.p90 - directTtft.p90),
      };
    }

    // 2. One run of UNPACED_TOKENS tokens sent back to back: how fast one answer streams end to end.
    // Besides the subscriber's view, the run's events are read as the worker publishes them (Redis
    // pub/sub, straight into this process): the worker's own pace, without the API node's share.
    if (SECTIONS.has('unpaced')) {
      const directRates: { streaming: number; fromStart: number }[] = [];
      const parleyRates: { streaming: number; fromStart: number }[] = [];
      const logRates: { streaming: number; fromStart: number }[] = [];
      const published = new Map<string, Received[]>();
      /** Live messages and the events they carried: how far the worker's appends were coalesced. */
      const tapped = { messages: 0, events: 0 };
      const tap = new Redis(REDIS_URL);
      tap.on('pmessage', (_pattern: string, channel: string, message: string) => {
        const at = now();
        const runId = /\{(.+)\}/.exec(channel)?.[1] ?? '';
        const parsed = JSON.parse(message) as { type: string; text?: string } | { type: string; text?: string }[];
        const list = published.get(runId) ?? [];
        published.set(runId, list);
        const events = Array.isArray(parsed) ? parsed : [parsed];
        tapped.messages++;
        tapped.events += events.length;
        for (const e of events) if (e.type === 'TokenDelta') list.push({ text: e.text!, at });
      });
      await tap.psubscribe(`${env.REDIS_PREFIX}run:*:live`);
      const sub = ws();
      // Alternating direct and Parley, so that drift in the machine's speed hits both alike; one warm-up each.
      for (let r = -1; r < UNPACED_RUNS; r++) {
        fake.enqueue(scenario(0, UNPACED_TOKENS));
        const d = await directStream(sdk);
        fake.enqueue(scenario(0, UNPACED_TOKENS));
        const c = await newConversation();
        const start = now();
        const runId = await send(c);
        const got = await watch(sub, runId);
        if (got.length !== UNPACED_TOKENS || d.got.length !== UNPACED_TOKENS) throw new Error(`unpaced: ${got.length} / ${d.got.length} of ${UNPACED_TOKENS} tokens`);
        const log = published.get(runId) ?? [];
        published.delete(runId);
        if (r < 0) {
          toggleProfiles();
          continue;
        }
        directRates.push(rate(d.start, d.got));
        parleyRates.push(rate(start, got));
        // Complete whenever the subscriber's is: the publish of the last token precedes its delivery.
        if (log.length === UNPACED_TOKENS) logRates.push(rate(start, log));
      }
      toggleProfiles();
      await tap.quit();
      const parley = rates(parleyRates);
      const directR = rates(directRates);
      const floorR = rates(floorRuns!.unpaced);
      result.unpacedOneRun = {
        tokens: UNPACED_TOKENS,
        runs: UNPACED_RUNS,
        direct: directR,
        topologyFloor: floorR,
        parley,
        // The worker's appends as published to Redis (the log's live channel), read by this process.
        parleyLog: logRates.length === UNPACED_RUNS ? rates(logRates) : `only ${logRates.length} of ${UNPACED_RUNS} runs seen whole on the live channel`,
        eventsPerAppend: round(tapped.events / tapped.messages),
        parleyOverDirect: round(parley.streamingMedian / directR.streamingMedian),
        parleyOverFloor: round(parley.streamingMedian / floorR.streamingMedian),
      };
    }

    // 3. Throughput: CONCURRENT paced runs at once, one subscriber each; count every token.
    if (SECTIONS.has('concurrent')) {
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
      result.concurrentRuns = { runs: CONCURRENT, expectedTokens: CONCURRENT * TOKENS, delivered, lost, inOrder, wallMs: round(burstMs), tokensPerSecond: round((delivered / burstMs) * 1000) };
    }

    // 4. MANY_RUNS unpaced runs of MANY_TOKENS at once: aggregate tokens/s, against the same streams read directly.
    if (SECTIONS.has('many')) {
      for (let i = 0; i < MANY_RUNS; i++) fake.enqueue(scenario(0, MANY_TOKENS));
      const directStart = now();
      const directGot = await Promise.all(Array.from({ length: MANY_RUNS }, () => directStream(sdk)));
      const directMs = now() - directStart;
      const directDelivered = directGot.reduce((n, r) => n + r.got.length, 0);
      const convs = await Promise.all(Array.from({ length: MANY_RUNS }, newConversation));
      const subs = Array.from({ length: 10 }, ws);
      for (let i = 0; i < MANY_RUNS; i++) fake.enqueue(scenario(0, MANY_TOKENS));
      toggleProfiles();
      const start = now();
      const results = await Promise.all(convs.map(async (c, i) => watch(subs[i % subs.length], await send(c))));
      const wallMs = now() - start;
      toggleProfiles();
      const delivered = results.reduce((n, r) => n + r.length, 0);
      const inOrder = results.every((r) => r.every((t, i) => t.text === `w${i} `));
      result.manyRuns = {
        runs: MANY_RUNS,
        tokensPerRun: MANY_TOKENS,
        expectedTokens: MANY_RUNS * MANY_TOKENS,
        delivered,
        lost: MANY_RUNS * MANY_TOKENS - delivered,
        inOrder,
        wallMs: round(wallMs),
        tokensPerSecond: round((delivered / wallMs) * 1000, 0),
        direct: { delivered: directDelivered, wallMs: round(directMs), tokensPerSecond: round((directDelivered / directMs) * 1000, 0) },
      };
    }

    // 5. Fan-out: one run, FANOUT subscribers. The upstream waits 1.5 s before its first token so that
    // every subscriber is attached and tokens are measured live, not replayed after subscription setup.
    if (SECTIONS.has('fanout')) {
      fake.enqueue({ ...scenario(), initialDelayMs: 1500 });
      const fanConv = await newConversation();
      const fanRun = await send(fanConv);
      const fanRec = fake.requests.length;
      const fanClients = Array.from({ length: Math.min(FANOUT, 20) }, ws);
      const fan = await Promise.all(Array.from({ length: FANOUT }, (_, i) => watch(fanClients[i % fanClients.length], fanRun)));
      const fanRecord = fake.requests[fanRec] ?? fake.requests.at(-1)!;
      const fanLatency = fan.flatMap((got) => got.map((t) => t.at - sentAtOfToken(fanRecord.sentAt, t.text)));
      const fanComplete = fan.every((got) => got.length === TOKENS);
      result.fanout = { subscribers: FANOUT, allComplete: fanComplete, latencyMs: summary(fanLatency) };
    }

    console.log(JSON.stringify(result, null, 2));
    writeResult(TOPOLOGY === 'inline' ? 'stream-inline' : 'stream', result);
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    for (const p of processes.reverse()) await p.stop();
    await fake.close();
    await dropDatabase(databaseUrl).catch(() => undefined);
    await dropRedisKeys(REDIS_URL, env.REDIS_PREFIX).catch(() => undefined);
  }
}

runBenchmark(main);
