import { connect, createServer } from 'node:net';
import { ConfigError, loadConfig, type Config } from './config';
import { maskCredentials, redactSqlValues, type Logger } from './logger';
import { EmbeddedPostgresError } from './db/embedded';
import { PendingMigrationsError } from './db/orm';
import { WORKER_METRICS_PORT } from './observability/config';

/** Entry points share this: a bad environment ends the process with the message that names the variable. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * SIGINT/SIGTERM run `stop` once (drain, close sockets and pools) and exit 0;
 * a shutdown that hangs is cut off after `timeoutMs` (PARLEY_SHUTDOWN_TIMEOUT_MS) with exit 1.
 */
export function exitOnSignals(logger: Logger, stop: () => Promise<void>, timeoutMs = 15_000): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, timeoutMs).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/**
 * The end of a start that failed: one line on stderr that says what to fix,
 * then exit 1. The error itself is printed only at LOG_LEVEL=debug or trace.
 */
export function exitOnStartFailure(config?: Config): (err: unknown) => Promise<never> {
  return async (err) => {
    if (config && (config.logLevel === 'debug' || config.logLevel === 'trace')) console.error(err);
    console.error(await describeStartError(err, config));
    process.exit(1);
  };
}

/**
 * Fails (EADDRINUSE, EACCES) before anything is started when the API port is
 * taken: the start then costs nothing, and says so in one line.
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((ok, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(port, host, () => probe.close(() => ok()));
  });
}

type Endpoints = Partial<Pick<Config, 'databaseUrl' | 'redisUrl' | 'port' | 'observability'>>;

interface NodeError {
  code?: string;
  syscall?: string;
  address?: string;
  port?: number;
  hostname?: string;
  message?: string;
  severity?: string;
  errors?: NodeError[];
  stack?: string;
}

const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

/** One line naming what failed and what to change; never a stack, a password or `undefined`. */
export async function describeStartError(err: unknown, config?: Endpoints): Promise<string> {
  if (err instanceof EmbeddedPostgresError || err instanceof ConfigError || err instanceof PendingMigrationsError) return err.message;
  const e = (typeof err === 'object' && err !== null ? err : {}) as NodeError;
  const inner = e.errors?.[0] ?? {};
  const code = e.code ?? inner.code;

  if (e.syscall === 'listen') {
    const port = e.port ?? '?';
    const metricsPort = config?.observability?.metricsPort ?? WORKER_METRICS_PORT;
    const variable = port !== config?.port && port === metricsPort ? 'PARLEY_METRICS_PORT' : 'PORT';
    if (code === 'EADDRINUSE') return `port ${port} is in use; set ${variable}`;
    if (code === 'EACCES') return `port ${port} needs privileges this process does not have; set ${variable} to 1024 or above`;
    if (code === 'EADDRNOTAVAIL') return `HOST ${e.address ?? ''} is not an address of this machine; set HOST`;
  }

  const db = config?.databaseUrl ? target(config.databaseUrl, 5432) : undefined;
  const redis = config?.redisUrl ? target(config.redisUrl, 6379) : undefined;
  const fromRedis = isRedisError(e);
  const where = { host: e.hostname ?? e.address ?? inner.address, port: e.port ?? inner.port };
  const matches = (t?: Target) => !!t && (where.port !== undefined ? where.port === t.port : where.host === t.host);

  if (redis && (fromRedis || (code && NETWORK.has(code) && matches(redis) && !matches(db)))) {
    if (/^(WRONGPASS|NOAUTH|NOPERM|ERR)/.test(e.message ?? '')) return `Redis at ${redis.host}:${redis.port} (REDIS_URL) refused: ${firstLine(e.message)}`;
    return `cannot reach Redis at ${redis.host}:${redis.port} (REDIS_URL): ${await probeTcp(redis.host, redis.port)}`;
  }
  if (code && NETWORK.has(code)) {
    if (db && (matches(db) || !redis)) return `cannot reach PostgreSQL at ${db.host}:${db.port} (DATABASE_URL): ${networkReason(code)}`;
    return `cannot connect to ${where.host ?? 'a service'}${where.port ? `:${where.port}` : ''}: ${networkReason(code)}`;
  }
  // SQLSTATE: five characters, and no class starts with E (Node's errno codes all do).
  if (code && /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code) && (e.severity || /postgres|\bpg\b|knex|mikro-orm/i.test(e.stack ?? ''))) {
    const what = db ? `PostgreSQL at ${db.host}:${db.port}/${db.database} (DATABASE_URL)` : 'the embedded PostgreSQL';
    // MikroORM's message is "<statement> - <server's message>": only the server's part, without values.
    const message = e.message ?? '';
    return `${what} refused: ${firstLine(redactSqlValues(message.includes(' - ') ? message.slice(message.lastIndexOf(' - ') + 3) : message))}`;
  }
  if (err === undefined || err === null) return 'Parley could not start: an error without any message was thrown; LOG_LEVEL=debug shows where';
  return `Parley could not start: ${firstLine(maskCredentials(redactSqlValues(e.message ?? String(err))))} (LOG_LEVEL=debug shows the details)`;
}

interface Target {
  host: string;
  port: number;
  database?: string;
}

/** Host, port and database of a URL: never its user or password. */
export function target(url: string, defaultPort: number): Target {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) || defaultPort, database: decodeURIComponent(u.pathname.slice(1)) || undefined };
}

function isRedisError(e: NodeError): boolean {
  const name = (e as { name?: string }).name ?? '';
  return /ReplyError|MaxRetriesPerRequestError/.test(name) || e.message === 'Connection is closed.' || /[/\\](ioredis|bullmq)[/\\]/.test(e.stack ?? '');
}

function networkReason(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is it running?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
      return 'no answer (timed out)';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return `connection lost (${code})`;
  }
}

/** Why a TCP connection to host:port fails, or "it answers TCP" when it does not. */
export function probeTcp(host: string, port: number, timeoutMs = 2_000): Promise<string> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (why: string) => {
      socket.destroy();
      done(why);
    };
    socket.setTimeout(timeoutMs, () => finish(`no answer within ${timeoutMs / 1000} s`));
    socket.once('connect', () => finish('it accepts TCP connections but did not answer as expected'));
    socket.once('error', (err: NodeError) => finish(networkReason(err.code ?? (err.errors?.[0]?.code as string) ?? 'ECONNRESET')));
  });
}

function firstLine(text?: string): string {
  const line = (text ?? '').split('\n').find((l) => l.trim()) ?? '';
  // Driver messages may quote the statement; the first line of a MikroORM error is the statement itself.
  return line.length > 300 ? `${line.slice(0, 300)}…` : line.trim();
}
