import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config';
import { startParley, type ParleyApp } from '../../src/server/app';
import type { Logger } from '../../src/logger';
import { dropDatabase, dropRedisKeys, scratchDatabaseUrl } from '../../scripts/scratch-db';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface GqlResult<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; field?: string } & Record<string, unknown> }[];
}

export interface TestParley {
  app: ParleyApp;
  url: string;
  wsUrl: string;
  adminKey: string;
  databaseUrl: string;
  redisPrefix: string;
  /** SQL statements seen since the last reset (only when countQueries was set). */
  queries: string[];
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResult<T>>;
  ws(token?: string): Client;
  newUser(email?: string): Promise<{ id: string; apiKey: string }>;
  stop(): Promise<void>;
}

export interface TestParleyOptions {
  redis?: boolean;
  countQueries?: boolean;
  env?: Record<string, string>;
  /** Reuse an existing database (second node of a cluster) instead of a new scratch one. */
  databaseUrl?: string;
  redisPrefix?: string;
  /** Receives the node's logs instead of a logger made from LOG_LEVEL (tests that read log lines). */
  logger?: Logger;
}

/** A real Parley node on a scratch database (and optionally real Redis), on a free port. */
export async function startTestParley(opts: TestParleyOptions = {}): Promise<TestParley> {
  const databaseUrl = opts.databaseUrl ?? scratchDatabaseUrl('test');
  const redisPrefix = opts.redisPrefix ?? `parley-test-${randomBytes(4).toString('hex')}:`;
  const adminKey = `pk_test_admin_${randomBytes(12).toString('hex')}`;
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    ...(opts.redis ? { REDIS_URL: TEST_REDIS_URL } : {}),
    REDIS_PREFIX: redisPrefix,
    PORT: '0',
    HOST: '127.0.0.1',
    PARLEY_ADMIN_KEY: adminKey,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...opts.env,
  });
  const queries: string[] = [];
  const app = await startParley(config, { logger: opts.logger, ...(opts.countQueries ? { onQuery: (sql: string) => queries.push(sql) } : {}) });
  const url = app.url.replace('localhost', '127.0.0.1');
  const clients: Client[] = [];
  const gql = async <T>(query: string, variables?: Record<string, unknown>, token = adminKey): Promise<GqlResult<T>> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as GqlResult<T>;
  };
  return {
    app,
    url,
    wsUrl: url.replace('http', 'ws'),
    adminKey,
    databaseUrl,
    redisPrefix,
    queries,
    gql,
    ws(token = adminKey) {
      const client = createClient({
        url: url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    async newUser(email = `user-${randomBytes(4).toString('hex')}@example.com`) {
      const res = await gql<{ createUser: { user: { id: string }; apiKey: string } }>(
        'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } apiKey } }',
        { input: { email } },
      );
      if (!res.data) throw new Error(JSON.stringify(res.errors));
      return { id: res.data.createUser.user.id, apiKey: res.data.createUser.apiKey };
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
      await app.stop();
      if (!opts.databaseUrl) await dropDatabase(databaseUrl);
      // The node that made up the prefix owns its keys (streams, queue, rate windows): they go with it.
      if (opts.redis && !opts.redisPrefix) await dropRedisKeys(TEST_REDIS_URL, redisPrefix);
    },
  };
}

/** Collects subscription results until `count` arrive or the stream ends. */
export function collect<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  until: (items: GqlResult<T>[]) => boolean,
  timeoutMs = 10_000,
): Promise<GqlResult<T>[]> {
  return new Promise((resolve, reject) => {
    const items: GqlResult<T>[] = [];
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      if (err) reject(err);
      else resolve(items);
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${items.length} items: ${JSON.stringify(items)}`)), timeoutMs);
    const unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          items.push(value as GqlResult<T>);
          if (until(items)) finish();
        },
        error: (err) => {
          if (Array.isArray(err)) {
            items.push({ errors: err as GqlResult['errors'] });
            finish();
          } else finish(err);
        },
        complete: () => finish(),
      },
    );
  });
}

/** Two API nodes of one deployment: one database, one Redis prefix (node `a` made them and removes them). */
export interface TestCluster {
  a: TestParley;
  b: TestParley;
  stop(): Promise<void>;
}

export async function startTestCluster(env: Record<string, string> = {}): Promise<TestCluster> {
  const a = await startTestParley({ redis: true, env });
  try {
    const b = await startTestParley({ redis: true, env, databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
    return {
      a,
      b,
      async stop() {
        await b.stop();
        await a.stop();
      },
    };
  } catch (err) {
    await a.stop();
    throw err;
  }
}

/** `n` new conversations of the key's user, created at once. */
export function newConversations(p: TestParley, key: string, n: number, title = 'test'): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const res = await p.gql<{ createConversation: { conversation: { id: string } } }>(
        'mutation($input: CreateConversationInput!) { createConversation(input: $input) { conversation { id } } }',
        { input: { title } },
        key,
      );
      if (!res.data) throw new Error(JSON.stringify(res.errors));
      return res.data.createConversation.conversation.id;
    }),
  );
}
