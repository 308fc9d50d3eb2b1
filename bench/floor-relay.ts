/**
 * The floor under Parley's per-token latency: the same processes and hops as a
 * run (upstream → worker process → Redis → API process → WebSocket → client)
 * with none of Parley's code in between. bench/stream.ts starts two of these:
 *
 *   node dist/bench/floor-relay.js worker <redisUrl> <channel> <upstreamUrl>
 *     reads a start signal from Redis, streams the upstream with the openai SDK
 *     (as Parley's worker does) and PUBLISHes each text delta to the channel;
 *   node dist/bench/floor-relay.js api <redisUrl> <channel>
 *     SUBSCRIBEs to the channel and forwards every message to its WebSocket clients.
 *
 * Each prints one JSON line when ready ({"ready":true,"port":…} for the api).
 */
import Redis from 'ioredis';
import OpenAI from 'openai';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';

async function worker(redisUrl: string, channel: string, upstreamUrl: string): Promise<void> {
  const pub = new Redis(redisUrl);
  const sub = new Redis(redisUrl);
  const client = new OpenAI({ baseURL: upstreamUrl, apiKey: 'x', maxRetries: 0 });
  await sub.subscribe(`${channel}:start`);
  sub.on('message', () => {
    void (async () => {
      const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta?.content;
        if (text) void pub.publish(channel, text);
      }
      void pub.publish(channel, '\u0000done');
    })();
  });
  console.log(JSON.stringify({ ready: true }));
}

async function api(redisUrl: string, channel: string): Promise<void> {
  const sub = new Redis(redisUrl);
  const clients = new Set<WebSocket>();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  await sub.subscribe(channel);
  sub.on('message', (_channel, message: string) => {
    for (const ws of clients) ws.send(message);
  });
  console.log(JSON.stringify({ ready: true, port: (wss.address() as AddressInfo).port }));
}

const [role, redisUrl, channel, upstreamUrl] = process.argv.slice(2);
(role === 'worker' ? worker(redisUrl, channel, upstreamUrl) : api(redisUrl, channel)).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
