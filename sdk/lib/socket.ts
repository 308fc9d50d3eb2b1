import { createClient, type Client } from 'graphql-ws';

/** The part of a graphql-ws client the SDK subscribes through (tests pass a fake). */
export type SubscribeClient = Pick<Client, 'subscribe'>;

export interface SocketOptions {
  /** ws:// or wss:// URL of the GraphQL endpoint. */
  url: string;
  /** A WebSocket class (`ws`'s, or the browser's); by default the global one, else `ws` when installed. */
  webSocketImpl?: unknown;
  /** `Bearer …` or nothing; asked on every (re)connect, so rotated tokens are picked up. */
  authorization: () => Promise<string | undefined>;
  /** Ping interval; a pong missing for as long again drops the socket (then streams reconnect). 0: off. */
  keepAliveMs: number;
}

/** One WebSocket per client, opened on the first subscription and closed when the last one ends. */
export interface LazySocket {
  client(): Promise<SubscribeClient>;
  dispose(): Promise<void>;
}

export function lazySocket(opts: SocketOptions): LazySocket {
  let pending: Promise<Client> | undefined;
  return {
    client() {
      pending ??= open(opts).catch((err: unknown) => {
        pending = undefined;
        throw err;
      });
      return pending;
    },
    async dispose() {
      const current = pending;
      pending = undefined;
      if (current) await (await current.catch(() => undefined))?.dispose();
    },
  };
}

async function open(opts: SocketOptions): Promise<Client> {
  const webSocketImpl = await resolveWebSocketImpl(opts.webSocketImpl);
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  const stopWaiting = () => {
    if (pongTimer !== undefined) clearTimeout(pongTimer);
    pongTimer = undefined;
  };
  // Retries are the streams' job: they resubscribe from their last seq, which graphql-ws
  // (resending the first request as it was) cannot do. lazyCloseTimeout 0 lets a script end
  // as soon as its last stream does.
  const client: Client = createClient({
    url: opts.url,
    webSocketImpl,
    lazy: true,
    retryAttempts: 0,
    keepAlive: opts.keepAliveMs,
    connectionAckWaitTimeout: 30_000,
    connectionParams: async () => {
      const authorization = await opts.authorization();
      return authorization ? { authorization } : {};
    },
    on: {
      ping: (received) => {
        if (received || opts.keepAliveMs <= 0) return;
        stopWaiting();
        // A half-open TCP connection never errors by itself: no pong in time, drop it.
        pongTimer = setTimeout(() => client.terminate(), opts.keepAliveMs);
      },
      pong: (received) => {
        if (received) stopWaiting();
      },
      closed: stopWaiting,
    },
  });
  return client;
}

/** The given implementation, the global WebSocket (browsers, Node 22+), else `ws` (Node 20). */
export async function resolveWebSocketImpl(given: unknown): Promise<unknown> {
  if (given) return given;
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (global) return global;
  // A variable specifier, so bundlers for the browser (which has a global WebSocket) skip `ws`.
  const specifier = 'ws';
  try {
    const mod = (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as { default?: unknown; WebSocket?: unknown };
    const impl = mod.WebSocket ?? mod.default;
    if (impl) return impl;
  } catch (cause) {
    throw new Error('No WebSocket implementation: this runtime has no global WebSocket; `npm install ws` or pass `webSocketImpl`', { cause });
  }
  throw new Error('No WebSocket implementation: the `ws` module exports no WebSocket class; pass `webSocketImpl`');
}
