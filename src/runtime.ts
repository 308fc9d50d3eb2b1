import Redis from 'ioredis';
import type { Config } from './config';
import type { Logger } from './logger';
import { ensureDatabase, initOrm, migrate, type MikroORM } from './db/orm';
import { startEmbeddedPostgres } from './db/embedded';
import { EventBus } from './events/event-bus';
import { createRunEventLog, type RunEventLog } from './events/run-event-log';
import { BullRunQueue, MemoryRunQueue, type RunQueue } from './queue/run-queue';
import { MemoryRunSignals, RedisRunSignals, type RunSignals } from './queue/run-signals';
import { ProviderRegistry } from './modules/providers/provider-registry';
import { createBuiltinRegistry } from './modules/tools/builtin-tools';
import { MemoryToolCache, RedisToolCache } from './modules/tools/tool-cache';
import type { ToolRegistry } from './modules/tools/tool-registry';
import { LocalLeaderLock, RedisLeaderLock } from './queue/leader-lock';
import { RunReconciler } from './modules/runs/run-reconciler';
import { RunStore } from './modules/runs/run-store';
import { observeRuntime } from './observability/runtime';

/**
 * Everything an API node and a worker share: database, Redis connections, run
 * event log, run queue, cancel signals, providers and tools. Each piece is the
 * Redis/Postgres implementation when REDIS_URL is set and its in-memory twin
 * otherwise.
 */
export interface Runtime {
  config: Config;
  logger: Logger;
  orm: MikroORM;
  redis?: Redis;
  bus: EventBus;
  eventLog: RunEventLog;
  queue: RunQueue;
  signals: RunSignals;
  providers: ProviderRegistry;
  tools: ToolRegistry;
  /** Releases everything, in reverse order of acquisition. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  onQuery?: (sql: string) => void;
}

export async function createRuntime(config: Config, logger: Logger, opts: RuntimeOptions = {}): Promise<Runtime> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      await fn().catch((err: unknown) => logger.error({ err }, 'error during shutdown'));
    }
  };
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres(config.dataDir, logger);
      cleanups.push(() => embedded.stop());
      databaseUrl = embedded.url;
    } else {
      await ensureDatabase(databaseUrl);
    }
    const orm = await initOrm({ clientUrl: databaseUrl, onQuery: opts.onQuery });
    cleanups.push(() => orm.close(true));
    const applied = await migrate(orm, { apply: config.migrate, onWait: () => logger.info('waiting for another process to finish migrating') });
    if (applied.length) logger.info({ migrations: applied }, 'applied migrations');

    let redis: Redis | undefined;
    let bus: EventBus;
    let signals: RunSignals;
    let queue: RunQueue;
    if (config.redisUrl) {
      const connect = async () => {
        const r = new Redis(config.redisUrl!, { lazyConnect: true, maxRetriesPerRequest: 3 });
        // Connection errors reach every caller through its rejected command; the listener keeps ioredis
        // from printing each reconnect attempt to stderr as an "Unhandled error event".
        r.on('error', (err: unknown) => logger.debug({ err }, 'redis connection error'));
        await r.connect();
        cleanups.push(async () => r.disconnect());
        return r;
      };
      redis = await connect();
      const [busSub, signalSub] = await Promise.all([connect(), connect()]);
      bus = new EventBus(config.redisPrefix, {
        publish: redis,
        subscribe: busSub,
        onError: (err) => logger.warn({ err }, 'conversation event not delivered (Redis unavailable)'),
      });
      signals = new RedisRunSignals(redis, signalSub, config.redisPrefix);
      queue = new BullRunQueue({
        redisUrl: config.redisUrl,
        prefix: config.redisPrefix,
        concurrency: config.workerConcurrency,
        lockDurationMs: config.jobLockMs,
        logger,
      });
    } else {
      bus = new EventBus(config.redisPrefix);
      signals = new MemoryRunSignals();
      queue = new MemoryRunQueue(config.workerConcurrency, logger);
    }
    cleanups.push(() => signals.close());
    const eventLog = createRunEventLog({
      redis: config.redisUrl ? { url: config.redisUrl, prefix: config.redisPrefix } : undefined,
      retentionSeconds: config.runEventRetentionSeconds,
    });
    cleanups.push(() => eventLog.close());
    // The queue closes first on shutdown (registered last): running jobs finish before the log and database go.
    cleanups.push(() => queue.close());
    // Every process (API node or worker) is a candidate; the lock's holder ends runs nobody else will.
    const reconciler = new RunReconciler({
      store: new RunStore(orm.em),
      log: eventLog,
      signals,
      logger,
      lock: redis ? new RedisLeaderLock(redis, `${config.redisPrefix}run-reconciler`, Math.max(1_000, 3 * config.reconcileIntervalMs)) : new LocalLeaderLock(),
      leaseMs: config.runLeaseMs,
      requiresActionTtlSeconds: config.requiresActionTtlSeconds,
      intervalMs: config.reconcileIntervalMs,
    }).start();
    cleanups.push(() => reconciler.stop());

    const providers = new ProviderRegistry({
      openaiBaseUrl: config.openaiBaseUrl,
      openaiApiKey: config.openaiApiKey,
      providersJson: config.providersJson,
      modelsJson: config.modelsJson,
      demoTokenDelayMs: config.demoTokenDelayMs,
    });
    const cache = redis ? new RedisToolCache(redis, `${config.redisPrefix}tool-cache:`) : new MemoryToolCache();
    const tools = createBuiltinRegistry(cache, {
      defaultTimeoutMs: config.toolTimeoutMs,
      onCacheError: (err) => logger.warn({ err }, 'tool cache unavailable'),
    });

    // Metrics sources and tracing; undone last on shutdown, so spans of runs finishing meanwhile are flushed.
    cleanups.unshift(observeRuntime({ config, logger, orm, redis }));
    return { config, logger, orm, redis, bus, eventLog, queue, signals, providers, tools, close };
  } catch (err) {
    await close();
    throw err;
  }
}
