/**
 * npm run bench:subs — what a runEvents subscription costs the API node.
 *
 * 1. Fan-out: one unpaced run (BENCH_TOKENS tokens from the fake upstream,
 *    no delay) watched by BENCH_FANOUT subscribers over BENCH_FAN_SOCKETS
 *    client sockets; an API node (`dist/src/main.js`, no worker) and a worker
 *    process (`dist/src/worker.js`), Redis mode. Every subscriber is attached
 *    (it has received the run's first event) before the upstream is released.
 *    Baseline in the same run: a bare relay (this file, role `relay`) that
 *    SUBSCRIBEs to one Redis channel and writes each message once per
 *    subscriber, framed as graphql-ws `next` messages, to the same number of
 *    subscribers on the same number of sockets; this process PUBLISHes as many
 *    event-sized messages, unpaced. Deliveries/s = messages received by all
 *    subscribers / (last received − release).
 * 2. Idle memory: BENCH_IDLE_SUBS runEvents subscriptions of QUEUED runs (no
 *    worker: they stay QUEUED) over BENCH_IDLE_SOCKETS sockets; the node's heap
 *    (after a full collection) and RSS are read over the inspector protocol
 *    before and after they open, and after they complete. Floor in the same
 *    run: a bare graphql-ws server (role `floor-ws`) with a subscription that
 *    never yields, measured the same way.
 *
 * Clients are raw WebSockets speaking graphql-transport-ws, for Parley and for
 * both baselines alike: every received message is JSON-parsed, nothing else.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import Redis from 'ioredis';
import WebSocket, { WebSocketServer } from 'ws';
import { buildSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { startFakeOpenAI, now } from '../test/support/fake-openai';
import { spawnParley, type ParleyProcess } from '../test/support/process';
import { dropDatabase, dropRedisKeys, scratchDatabaseUrl } from '../scripts/scratch-db';
import { ensureDatabase } from '../src/db/orm';
import { round } from './stats';
import { gqlClient, runBenchmark, writeResult } from './harness';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 2000);
const FANOUT = Number(process.env.BENCH_FANOUT ?? 100);
const FAN_SOCKETS = Number(process.env.BENCH_FAN_SOCKETS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IDLE_SUBS = Number(process.env.BENCH_IDLE_SUBS ?? 5000);
const IDLE_SOCKETS = Number(process.env.BENCH_IDLE_SOCKETS ?? 50);
const IDLE_RUNS = Number(process.env.BENCH_IDLE_RUNS ?? 10);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PROTOCOL = 'graphql-transport-ws';

const FAN_QUERY = 'subscription($id: ID!) { runEvents(runId: $id, after: 0) { __typename seq ... on TokenDelta { text } } }';
const IDLE_QUERY = 'subscription($id: ID!) { runEvents(runId: $id, after: 0) { __typename seq ... on TokenDelta { text } } }';

/** The benchmark stops by itself: a phase that does not finish in time fails it instead of hanging it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** CPU time (user + system) a process has used so far, from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

interface Sub {
  received: number;
  lastSeq: number;
  inOrder: boolean;
  first: Promise<void>;
  done: Promise<void>;
}

/** One graphql-transport-ws connection whose subscriptions count what they receive. */
class RawClient {
  private readonly subs = new Map<string, { sub: Sub; firstSeen: () => void; end: (err?: Error) => void }>();
  private nextId = 0;
  lastAt = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('close', () => {
      for (const s of this.subs.values()) s.end(new Error('socket closed'));
    });
  }

  /** `authorization` null: a bare socket with no graphql-ws handshake (the relay has none). */
  static async open(url: string, authorization: string | undefined | null): Promise<RawClient> {
    const ws = new WebSocket(url, PROTOCOL);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    if (authorization === null) return new RawClient(ws);
    const acked = new Promise<void>((resolve, reject) => {
      ws.once('message', (data) => (JSON.parse(String(data)).type === 'connection_ack' ? resolve() : reject(new Error(String(data)))));
      ws.once('close', (code) => reject(new Error(`closed ${code}`)));
    });
    ws.send(JSON.stringify({ type: 'connection_init', payload: authorization ? { authorization } : {} }));
    await acked;
    return new RawClient(ws);
  }

  subscribe(query: string, variables: Record<string, unknown>): Sub & { id: string } {
    const id = String(++this.nextId);
    let firstSeen!: () => void;
    let end!: (err?: Error) => void;
    const first = new Promise<void>((resolve) => (firstSeen = resolve));
    const done = new Promise<void>((resolve, reject) => (end = (err) => (err ? reject(err) : resolve())));
    done.catch(() => undefined);
    const sub: Sub = { received: 0, lastSeq: 0, inOrder: true, first, done };
    this.subs.set(id, { sub, firstSeen, end });
    this.ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    return Object.assign(sub, { id });
  }

  complete(id: string): void {
    this.ws.send(JSON.stringify({ id, type: 'complete' }));
    this.subs.get(id)?.end();
    this.subs.delete(id);
  }

  private onMessage(text: string): void {
    const msg = JSON.parse(text) as { id?: string; type: string; payload?: { data?: Record<string, { seq?: number }> } };
    const entry = msg.id === undefined ? undefined : this.subs.get(msg.id);
    if (!entry) return;
    if (msg.type === 'next') {
      const { sub } = entry;
      const event = msg.payload?.data && Object.values(msg.payload.data)[0];
      if (typeof event?.seq === 'number') {
        if (event.seq !== sub.lastSeq + 1) sub.inOrder = false;
        sub.lastSeq = event.seq;
      }
      if (sub.received++ === 0) entry.firstSeen();
      this.lastAt = now();
    } else if (msg.type === 'complete') {
      entry.end();
      this.subs.delete(msg.id!);
    } else if (msg.type === 'error') {
      entry.end(new Error(JSON.stringify(msg.payload)));
      this.subs.delete(msg.id!);
    }
  }

  close(): void {
    this.ws.close();
  }
}

/** Heap and RSS of a process started with --inspect, read over the inspector protocol after a full collection. */
class Inspector {
  private id = 0;
  private readonly pending = new Map<number, (result: unknown) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; method?: string; params?: { chunk: string } };
      if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') this.chunks.push(msg.params!.chunk);
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg.result);
    });
  }
  private chunks: string[] = [];

  static async attach(logs: string[]): Promise<Inspector> {
    const line = await within(
      (async () => {
        for (;;) {
          const found = logs.find((l) => l.startsWith('Debugger listening on ws://'));
          if (found) return found;
          await new Promise((r) => setTimeout(r, 20));
        }
      })(),
      10_000,
      'the inspector',
    );
    const ws = new WebSocket(line.slice('Debugger listening on '.length).trim());
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new Inspector(ws);
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.id;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async memory(): Promise<{ heapUsed: number; rss: number }> {
    // Two full collections: the first can leave weakly held and finalizable objects for the second.
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const r = (await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    const m = JSON.parse(r.result.value) as { heapUsed: number; rss: number };
    return { heapUsed: m.heapUsed, rss: m.rss };
  }

  async snapshot(path: string): Promise<void> {
    this.chunks = [];
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    writeFileSync(path, this.chunks.join(''));
    this.chunks = [];
  }

  close(): void {
    this.ws.close();
  }
}

/** Runs a role of this file as a child process and resolves with its ready line. */
function startRole(args: string[], children: ChildProcess[], execArgv: string[] = []): Promise<{ port: number; child: ChildProcess; logs: string[] }> {
  const child = spawn(process.execPath, [...execArgv, __filename, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const logs: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => logs.push(l));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${logs.join('\n')}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ ...(JSON.parse(line) as { port: number }), child, logs }));
  });
}

// ---- child roles -------------------------------------------------------------------------------

/** Bare relay: Redis SUBSCRIBE → one graphql-ws-framed write per subscriber (subscriptions = sockets × per socket). */
async function relayRole(redisUrl: string, channel: string, perSocket: number): Promise<void> {
  const sub = new Redis(redisUrl, { enableReadyCheck: false });
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const clients = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  await sub.subscribe(channel);
  sub.on('message', (_channel, message: string) => {
    for (const ws of clients) for (let i = 1; i <= perSocket; i++) ws.send(`{"id":"${i}","type":"next","payload":${message}}`);
  });
  console.log(JSON.stringify({ port: (http.address() as AddressInfo).port }));
}

/** Bare graphql-ws server whose one subscription never yields: the memory floor of an idle subscription. */
async function floorWsRole(): Promise<void> {
  const schema = buildSchema('type Query { ok: Boolean } type Subscription { idle(runId: ID!, after: Int): Int }');
  const idle = () => {
    let wake: ((r: IteratorResult<number>) => void) | undefined;
    const it: AsyncIterableIterator<number> = {
      [Symbol.asyncIterator]: () => it,
      next: () => new Promise((resolve) => (wake = resolve)),
      return: async () => {
        wake?.({ done: true, value: undefined });
        return { done: true, value: undefined };
      },
    };
    return it;
  };
  (schema.getSubscriptionType()!.getFields().idle as { subscribe?: unknown }).subscribe = idle;
  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/graphql' });
  useServer({ schema }, wss);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  console.log(JSON.stringify({ port: (http.address() as AddressInfo).port }));
}

// ---- phases ------------------------------------------------------------------------------------

interface FanResult {
  subscribers: number;
  sockets: number;
  messagesPerSubscriber: number;
  delivered: number;
  allInOrder?: boolean;
  ms: number;
  deliveriesPerSecond: number;
  serverCpuMs: number;
  serverCpuUsPerDelivery: number;
}

async function fanOutRelay(children: ChildProcess[], messages: number): Promise<FanResult> {
  const channel = `parley-bench-subs-${randomBytes(4).toString('hex')}`;
  const perSocket = FANOUT / FAN_SOCKETS;
  const { port, child } = await startRole(['relay', REDIS_URL, channel, String(perSocket)], children);
  const clients = await Promise.all(Array.from({ length: FAN_SOCKETS }, () => RawClient.open(`ws://127.0.0.1:${port}`, null)));
  // Raw counting on the relay's frames (it has no subscribe handshake): every frame is parsed like Parley's.
  let delivered = 0;
  let last = 0;
  const total = messages * FANOUT;
  const finished = new Promise<void>((resolve) => {
    for (const c of clients) {
      c.ws.removeAllListeners('message');
      c.ws.on('message', (data) => {
        JSON.parse(String(data));
        last = now();
        if (++delivered === total) resolve();
      });
    }
  });
  const pub = new Redis(REDIS_URL);
  const body = (seq: number) => JSON.stringify({ data: { runEvents: { __typename: 'TokenDelta', seq, text: `w${seq} ` } } });
  const cpu0 = cpuMs(child.pid!);
  const start = now();
  const pipeline = pub.pipeline();
  for (let i = 1; i <= messages; i++) pipeline.publish(channel, body(i));
  await pipeline.exec();
  await within(finished, 60_000, 'the relay fan-out');
  const ms = last - start;
  const cpu = cpuMs(child.pid!) - cpu0;
  pub.disconnect();
  for (const c of clients) c.close();
  child.kill();
  return {
    subscribers: FANOUT,
    sockets: FAN_SOCKETS,
    messagesPerSubscriber: messages,
    delivered,
    ms: round(ms),
    deliveriesPerSecond: Math.round((delivered / ms) * 1000),
    serverCpuMs: round(cpu),
    serverCpuUsPerDelivery: round((cpu * 1000) / delivered),
  };
}

async function fanOutParley(
  api: ParleyProcess,
  key: string,
  fake: Awaited<ReturnType<typeof startFakeOpenAI>>,
  subscribers: number,
  sockets: number,
): Promise<FanResult> {
  const gql = gqlClient(api.url, key);
  const conv = ((await gql('mutation { createConversation(input: { title: "fan", settings: { model: "up/m" } }) { conversation { id } } }', {})) as {
    createConversation: { conversation: { id: string } };
  }).createConversation.conversation.id;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  fake.enqueue({ kind: 'stream', text: Array.from({ length: TOKENS }, (_, i) => `w${i} `), delayMs: 0, hold: { chunks: 1, until: released }, usage: { promptTokens: 1, completionTokens: TOKENS } });
  const runId = ((await gql('mutation($c: ID!) { sendMessage(input: { conversationId: $c, content: "hi" }) { run { id } } }', { c: conv })) as { sendMessage: { run: { id: string } } })
    .sendMessage.run.id;
  const clients = await Promise.all(Array.from({ length: sockets }, () => RawClient.open(api.url.replace('http', 'ws'), `Bearer ${key}`)));
  const subs = Array.from({ length: subscribers }, (_, i) => clients[i % sockets].subscribe(FAN_QUERY, { id: runId }));
  // Attached: each has its first event (QUEUED). Everything after the release is live.
  await within(Promise.all(subs.map((s) => s.first)), 60_000, 'attaching the subscribers');
  const before = subs.reduce((n, s) => n + s.received, 0);
  const cpu0 = cpuMs(api.child.pid!);
  const start = now();
  release();
  await within(Promise.all(subs.map((s) => s.done)), 120_000, 'the Parley fan-out');
  const last = Math.max(...clients.map((c) => c.lastAt));
  const cpu = cpuMs(api.child.pid!) - cpu0;
  for (const c of clients) c.close();
  const delivered = subs.reduce((n, s) => n + s.received, 0) - before;
  const ms = last - start;
  return {
    subscribers,
    sockets,
    messagesPerSubscriber: subs[0].received,
    delivered,
    allInOrder: subs.every((s) => s.inOrder && s.received === subs[0].received),
    ms: round(ms),
    deliveriesPerSecond: Math.round((delivered / ms) * 1000),
    serverCpuMs: round(cpu),
    serverCpuUsPerDelivery: round((cpu * 1000) / delivered),
  };
}

interface MemoryResult {
  subscriptions: number;
  sockets: number;
  heapPerSubscriptionKB: number;
  rssPerSubscriptionKB: number;
  heapPerSocketKB: number;
  heapAfterCompleteKB: number;
  baseHeapMB: number;
}

const kb = (bytes: number) => round(bytes / 1024, 1);

interface IdleTarget {
  inspector: Inspector;
  url: string;
  authorization?: string;
  query: string;
  variables: (i: number) => Record<string, unknown>;
  /** Parley's subscriptions each get their run's QUEUED event; the floor's never send anything. */
  firstEvent: boolean;
}

/** Opens `count` idle subscriptions over `sockets` sockets and reads the server's memory around them. */
async function idleMemory(target: IdleTarget, count: number, sockets: number, snapshot?: string): Promise<MemoryResult> {
  const { inspector, url, authorization, query, variables, firstEvent } = target;
  const IDLE_SUBS = count;
  const IDLE_SOCKETS = sockets;
  const m0 = await inspector.memory();
  const clients: RawClient[] = [];
  for (let i = 0; i < IDLE_SOCKETS; i++) clients.push(await RawClient.open(url, authorization));
  const m1 = await inspector.memory();
  if (snapshot) await inspector.snapshot(`${snapshot}.before`);
  const subs: (Sub & { id: string; client: RawClient })[] = [];
  // One socket at a time, all its subscriptions at once; each counts once its first event (or, for the floor, its registration) is in.
  for (let s = 0; s < IDLE_SOCKETS; s++) {
    const batch = [];
    for (let i = s; i < IDLE_SUBS; i += IDLE_SOCKETS) {
      const sub = Object.assign(clients[s].subscribe(query, variables(i)), { client: clients[s] });
      subs.push(sub);
      batch.push(sub);
    }
    if (firstEvent) await within(Promise.all(batch.map((b) => b.first)), 60_000, 'opening idle subscriptions');
  }
  // The floor's subscriptions never send: a ping round trip per socket shows every subscribe before it was handled.
  if (!firstEvent) await Promise.all(clients.map((c) => pingPong(c)));
  const m2 = await inspector.memory();
  if (snapshot) await inspector.snapshot(snapshot);
  for (const sub of subs) sub.client.complete(sub.id);
  await Promise.all(clients.map((c) => pingPong(c)));
  const m3 = await inspector.memory();
  if (snapshot) await inspector.snapshot(`${snapshot}.after`);
  for (const c of clients) c.close();
  return {
    subscriptions: IDLE_SUBS,
    sockets: IDLE_SOCKETS,
    heapPerSubscriptionKB: kb((m2.heapUsed - m1.heapUsed) / IDLE_SUBS),
    rssPerSubscriptionKB: kb((m2.rss - m1.rss) / IDLE_SUBS),
    heapPerSocketKB: kb((m1.heapUsed - m0.heapUsed) / IDLE_SOCKETS),
    heapAfterCompleteKB: kb(m3.heapUsed - m1.heapUsed),
    baseHeapMB: round(m0.heapUsed / 1024 / 1024, 1),
  };
}

/** A graphql-transport-ws ping answered by pong: everything the socket sent before it has been read. */
function pingPong(c: RawClient): Promise<void> {
  const ws = c.ws;
  return within(
    new Promise<void>((resolve) => {
      const on = (data: WebSocket.RawData) => {
        if ((JSON.parse(String(data)) as { type: string }).type !== 'pong') return;
        ws.off('message', on);
        resolve();
      };
      ws.on('message', on);
      ws.send('{"type":"ping"}');
    }),
    30_000,
    'a ping',
  );
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
    // Guardrails stay on (their per-subscribe checks run); only the limits are raised out of reach.
    PARLEY_MAX_ACTIVE_RUNS_PER_USER: '1000',
    PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: '100000',
    PARLEY_RATE_LIMIT_SUBSCRIPTIONS_PER_MINUTE: '1000000',
    PARLEY_MAX_SUBSCRIPTIONS_PER_SOCKET: '1000',
    PARLEY_MAX_SUBSCRIPTIONS_PER_USER: '100000',
    LOG_LEVEL: 'warn',
  };
  const children: ChildProcess[] = [];
  const processes: ParleyProcess[] = [];
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    settings: { tokens: TOKENS, fanout: FANOUT, fanSockets: FAN_SOCKETS, rounds: ROUNDS, idleSubs: IDLE_SUBS, idleSockets: IDLE_SOCKETS, idleRuns: IDLE_RUNS },
  };
  try {
    if (!SKIP.has('fanout')) {
      // BENCH_CPU_PROFILE=<file>: a CPU profile of the API node over the measured rounds, taken over the inspector.
      const profile = process.env.BENCH_CPU_PROFILE;
      const api = await spawnParley({ ...env, PARLEY_WORKER: 'off', LOG_LEVEL: 'info', ...(profile ? { NODE_OPTIONS: '--inspect=127.0.0.1:0' } : {}) }, 'dist/src/main.js');
      processes.push(api);
      const profiler = profile ? await Inspector.attach(api.logs) : undefined;
      const worker = await spawnParley({ ...env, LOG_LEVEL: 'info' }, 'dist/src/worker.js', 'Parley worker is running');
      processes.push(worker);
      // Warm-up: JIT, pools, scripts, on both sides.
      await fanOutParley(api, adminKey, fake, 10, 2);
      await fanOutRelay(children, 200);
      await profiler?.call('Profiler.enable');
      await profiler?.call('Profiler.start');
      const rounds: { relay: FanResult; parley: FanResult; single: FanResult }[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const single = await fanOutParley(api, adminKey, fake, 1, 1);
        const parley = await fanOutParley(api, adminKey, fake, FANOUT, FAN_SOCKETS);
        const relay = await fanOutRelay(children, parley.messagesPerSubscriber);
        rounds.push({ relay, parley, single });
        console.error(
          `round ${r + 1}: parley ${parley.deliveriesPerSecond}/s (${parley.serverCpuUsPerDelivery} µs CPU per delivery, in order: ${parley.allInOrder}), relay ${relay.deliveriesPerSecond}/s (${relay.serverCpuUsPerDelivery} µs), one subscriber ${single.deliveriesPerSecond}/s`,
        );
      }
      result.fanout = rounds;
      if (profiler) {
        const { profile: cpu } = (await profiler.call('Profiler.stop')) as { profile: unknown };
        writeFileSync(profile!, JSON.stringify(cpu));
        profiler.close();
      }
      await worker.stop();
      await api.stop();
      processes.length = 0;
    }

    if (!SKIP.has('memory')) {
      // No worker: the runs stay QUEUED and their subscriptions idle.
      const api = await spawnParley({ ...env, PARLEY_WORKER: 'off', LOG_LEVEL: 'info', NODE_OPTIONS: '--inspect=127.0.0.1:0' }, 'dist/src/main.js');
      processes.push(api);
      const gql = gqlClient(api.url, adminKey);
      const runs: string[] = [];
      for (let i = 0; i < IDLE_RUNS; i++) {
        const c = ((await gql('mutation { createConversation(input: { title: "idle", settings: { model: "up/m" } }) { conversation { id } } }', {})) as {
          createConversation: { conversation: { id: string } };
        }).createConversation.conversation.id;
        runs.push(((await gql('mutation($c: ID!) { sendMessage(input: { conversationId: $c, content: "hi" }) { run { id } } }', { c })) as { sendMessage: { run: { id: string } } }).sendMessage.run.id);
      }
      const inspector = await Inspector.attach(api.logs);
      const target: IdleTarget = { inspector, url: api.url.replace('http', 'ws'), authorization: `Bearer ${adminKey}`, query: IDLE_QUERY, variables: (i) => ({ id: runs[i % runs.length] }), firstEvent: true };
      // A first, smaller round warms the node (JIT, pools, caches) so the measured one sees steady state.
      await idleMemory(target, 500, 10);
      const parley = await idleMemory(target, IDLE_SUBS, IDLE_SOCKETS, process.env.BENCH_HEAP_SNAPSHOT);
      inspector.close();
      await api.stop();
      processes.length = 0;

      const floorWs = await startRole(['floor-ws'], children, ['--inspect=127.0.0.1:0']);
      const floorInspector = await Inspector.attach(floorWs.logs);
      const floorTarget: IdleTarget = {
        inspector: floorInspector,
        url: `ws://127.0.0.1:${floorWs.port}/graphql`,
        query: 'subscription($id: ID!) { idle(runId: $id, after: 0) }',
        variables: (i) => ({ id: runs[i % runs.length] }),
        firstEvent: false,
      };
      await idleMemory(floorTarget, 500, 10);
      const floor = await idleMemory(floorTarget, IDLE_SUBS, IDLE_SOCKETS);
      floorInspector.close();
      floorWs.child.kill();
      result.idleMemory = { parley, graphqlWsFloor: floor };
      console.error(`idle: parley ${parley.heapPerSubscriptionKB} KB heap / ${parley.rssPerSubscriptionKB} KB RSS per subscription; floor ${floor.heapPerSubscriptionKB} / ${floor.rssPerSubscriptionKB}`);
    }
    console.log(JSON.stringify(result, null, 2));
    writeResult('subscriptions', result);
  } finally {
    for (const p of processes) await p.stop();
    for (const c of children) c.kill();
    await fake.close();
    await dropDatabase(databaseUrl).catch(() => undefined);
    await dropRedisKeys(REDIS_URL, env.REDIS_PREFIX).catch(() => undefined);
  }
}

const [role, ...rest] = process.argv.slice(2);
if (role === 'relay') relayRole(rest[0], rest[1], Number(rest[2])).catch(fail);
else if (role === 'floor-ws') floorWsRole().catch(fail);
else runBenchmark(main);

function fail(err: unknown): void {
  console.error(err);
  process.exit(1);
}
