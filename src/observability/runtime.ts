import type Redis from 'ioredis';
import { Queue } from 'bullmq';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logger';
import type { ObservabilityConfig } from './config';
import { collected, enableMetrics } from './metrics';
import { startTracing } from './tracing';

/** What a scrape reads from one runtime: its pool, its Redis connection, and the deployment's runs and queue. */
interface MetricsSource {
  orm: MikroORM;
  redis?: Redis;
  prefix: string;
  /** BullMQ's view of the run queue (Redis deployments), made at the first scrape. */
  queue?: Queue;
}

const sources = new Set<MetricsSource>();

/** The gauges a scrape must read fresh; each read is bounded, so a dead dependency cannot hang the scrape. */
const SCRAPE_READ_MS = 2_000;

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/**
 * A runtime's observability, from createRuntime: tracing started when a
 * collector is configured, metrics turned on (PARLEY_METRICS), and this
 * runtime's database pool, Redis connection and run queue read at each
 * scrape. The returned function undoes it (and flushes spans) at shutdown.
 */
export function observeRuntime(rt: {
  config: { observability: ObservabilityConfig; redisPrefix: string };
  logger: Logger;
  orm: MikroORM;
  redis?: Redis;
}): () => Promise<void> {
  const stopTracing = startTracing(rt.config.observability);
  if (rt.config.observability.tracesUrl) rt.logger.info({ tracesUrl: rt.config.observability.tracesUrl }, 'traces are exported over OTLP');
  if (!rt.config.observability.metrics) return stopTracing;
  enableMetrics();
  const source: MetricsSource = { orm: rt.orm, redis: rt.redis, prefix: `${rt.config.redisPrefix}bull` };
  sources.add(source);
  return async () => {
    sources.delete(source);
    await bounded(source.queue?.close() ?? Promise.resolve()).catch(() => undefined);
    await stopTracing();
  };
}

function bounded<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('scrape read timed out')), SCRAPE_READ_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const ACTIVE = ['QUEUED', 'IN_PROGRESS', 'REQUIRES_ACTION', 'CANCELLING'];

/** Reads the gauges that are state, not events: once per scrape, before the registry is rendered. */
export async function refreshCollected(): Promise<void> {
  // Normally one runtime per process; tests may run several, and the last one's reads stand.
  let used = 0;
  let free = 0;
  let pendingAcquires = 0;
  let pendingCreates = 0;
  for (const source of sources) {
    const pool = (source.orm.em.getConnection().getKnex().client as { pool?: TarnPool }).pool;
    if (pool) {
      used += pool.numUsed();
      free += pool.numFree();
      pendingAcquires += pool.numPendingAcquires();
      pendingCreates += pool.numPendingCreates();
    }
    if (source.redis) collected.redisUp.set({ connection: 'commands' }, source.redis.status === 'ready' ? 1 : 0);
    await Promise.all([readRuns(source), readQueue(source)]);
  }
  collected.dbPool.set({ state: 'used' }, used);
  collected.dbPool.set({ state: 'free' }, free);
  collected.dbPool.set({ state: 'pending_acquires' }, pendingAcquires);
  collected.dbPool.set({ state: 'pending_creates' }, pendingCreates);
}

async function readRuns(source: MetricsSource): Promise<void> {
  try {
    // The partial index of active runs answers this; on the driver directly, outside the ORM's query log.
    const { rows } = await bounded(
      source.orm.em
        .getConnection()
        .getKnex()
        .raw<{ rows: { status: string; n: number }[] }>(`select status, count(*)::int as n from runs where status = any(?::run_status[]) group by status`, [`{${ACTIVE.join(',')}}`]),
    );
    for (const status of ACTIVE) collected.runsActive.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
    if (!source.redis) collected.queueDepth.set(rows.find((r) => r.status === 'QUEUED')?.n ?? 0);
    collected.postgresUp.set(1);
  } catch {
    collected.postgresUp.set(0);
  }
}

async function readQueue(source: MetricsSource): Promise<void> {
  if (!source.redis || source.redis.status !== 'ready') return;
  // Counts only, on the runtime's shared connection: no connection of its own.
  if (!source.queue) {
    source.queue = new Queue('runs', { connection: source.redis, prefix: source.prefix });
    source.queue.on('error', () => undefined); // a failed read says so below; no unhandled 'error' event
  }
  try {
    const counts = await bounded(source.queue.getJobCounts('waiting', 'prioritized', 'delayed'));
    collected.queueDepth.set((counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0));
  } catch {
    // Redis away: parley_redis_up says so; the depth keeps its last value.
  }
}
