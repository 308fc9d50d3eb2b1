/**
 * The floor under Parley's latencies: the same processes and hops as a run,
 * doing the least work that keeps its guarantees, with none of Parley's code.
 * bench/stream.ts starts two of these:
 *
 *   node dist/bench/floor-relay.js api <redisUrl> <channel> <databaseUrl>
 *     POST /send: one transaction inserting a row (the message and run), then
 *     one job pushed to a Redis list, then 200 — what a send must do before it
 *     acknowledges. It also SUBSCRIBEs to the channel and forwards every message
 *     to its WebSocket clients (the subscription side);
 *   node dist/bench/floor-relay.js worker <redisUrl> <channel> <databaseUrl> <upstreamUrl>
 *     pops jobs, claims the row (one UPDATE), streams the upstream with the
 *     openai SDK (as Parley's worker does) and PUBLISHes each text delta;
 *   node dist/bench/floor-relay.js inline <redisUrl> <channel> <databaseUrl> <upstreamUrl>
 *     both in one process, as `npm start` runs an API node with its inline worker
 *     (the deltas still go through Redis pub/sub).
 *
 * Each prints one JSON line when ready ({"ready":true,"port":…}).
 */
import Redis from 'ioredis';
import OpenAI from 'openai';
import { Pool } from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

const TABLE = 'bench_floor_runs';

/**
 * A Redis connection that reports its errors instead of crashing the relay.
 * No ready check: its INFO was seen to collide with a subscription (once in
 * ~10 runs) and leave the relay deaf; a minimal relay does not need it.
 */
function redis(url: string): Redis {
  const r = new Redis(url, { enableReadyCheck: false });
  r.on('error', (err: Error) => console.error(`floor relay: redis: ${err.message}`));
  return r;
}

/** Starts popping jobs, in the background. */
function worker(redisUrl: string, channel: string, databaseUrl: string, upstreamUrl: string): void {
  const pub = redis(redisUrl);
  const jobs = redis(redisUrl);
  const db = new Pool({ connectionString: databaseUrl, max: 4 });
  const client = new OpenAI({ baseURL: upstreamUrl, apiKey: 'x', maxRetries: 0 });
  void popJobs(pub, jobs, db, client, channel).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

async function popJobs(pub: Redis, jobs: Redis, db: Pool, client: OpenAI, channel: string): Promise<never> {
  for (;;) {
    const popped = await jobs.brpop(`${channel}:jobs`, 0);
    if (!popped) continue;
    const claimed = await db.query(`update ${TABLE} set status = 'IN_PROGRESS' where id = $1 and status = 'QUEUED' returning content`, [popped[1]]);
    if (!claimed.rowCount) continue;
    void (async () => {
      const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta?.content;
        if (text) void pub.publish(channel, text);
      }
      void pub.publish(channel, '\u0000done');
    })();
  }
}

/** Resolves with the port once it listens and is subscribed. */
async function api(redisUrl: string, channel: string, databaseUrl: string): Promise<number> {
  const sub = redis(redisUrl);
  const queue = redis(redisUrl);
  const db = new Pool({ connectionString: databaseUrl, max: 4 });
  await db.query(`create table if not exists ${TABLE} (id uuid primary key, status text not null, content text not null)`);
  const http = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      void (async () => {
        const id = randomUUID();
        const conn = await db.connect();
        try {
          await conn.query('begin');
          await conn.query(`insert into ${TABLE} (id, status, content) values ($1, 'QUEUED', $2)`, [id, body]);
          await conn.query('commit');
        } finally {
          conn.release();
        }
        await queue.lpush(`${channel}:jobs`, id);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id }));
      })();
    });
  });
  const wss = new WebSocketServer({ server: http });
  const clients = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  await sub.subscribe(channel);
  sub.on('message', (_channel, message: string) => {
    for (const ws of clients) ws.send(message);
  });
  return (http.address() as AddressInfo).port;
}

async function start(role: string, redisUrl: string, channel: string, databaseUrl: string, upstreamUrl: string): Promise<{ ready: true; port?: number }> {
  if (role === 'worker') {
    worker(redisUrl, channel, databaseUrl, upstreamUrl);
    return { ready: true };
  }
  const port = await api(redisUrl, channel, databaseUrl);
  if (role === 'inline') worker(redisUrl, channel, databaseUrl, upstreamUrl);
  return { ready: true, port };
}

const [role, redisUrl, channel, databaseUrl, upstreamUrl] = process.argv.slice(2);
start(role, redisUrl, channel, databaseUrl, upstreamUrl).then(
  (ready) => console.log(JSON.stringify(ready)),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
