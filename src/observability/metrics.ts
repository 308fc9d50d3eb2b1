import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Parley's Prometheus metrics: one registry per process (an API node, a
 * worker, or both in one), recorded through the functions below and served
 * by src/observability/metrics-endpoint.ts. Until `enableMetrics` is called
 * (PARLEY_METRICS=on, the default) every recording function returns at once.
 *
 * Label values that a client or a model chooses (operation, model and tool
 * names) are bounded: past MAX_LABEL_VALUES distinct values, or for a value
 * that does not look like a name, the label reads `other`, so no caller can
 * grow the registry without bound.
 */
export const registry = new Registry();

let enabled = false;

export function enableMetrics(): void {
  if (enabled) return;
  enabled = true;
  collectDefaultMetrics({ register: registry });
}

export function metricsEnabled(): boolean {
  return enabled;
}

const MAX_LABEL_VALUES = 200;
const NAME_LIKE = /^[A-Za-z0-9_.:/-]{1,100}$/;

/** The label values of one label: each new one admitted while fewer than MAX_LABEL_VALUES are known. */
class BoundedLabel {
  private readonly seen = new Set<string>();

  of(value: string | undefined): string {
    if (!value) return 'unknown';
    if (this.seen.has(value)) return value;
    if (this.seen.size >= MAX_LABEL_VALUES || !NAME_LIKE.test(value)) return 'other';
    this.seen.add(value);
    return value;
  }
}

const operations = new BoundedLabel();
const models = new BoundedLabel();
const tools = new BoundedLabel();

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const RUN_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];
const FAST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

const m = {
  operations: new Counter({
    name: 'parley_graphql_operations_total',
    help: 'GraphQL operations by transport (http, ws), type, operation name and outcome (ok, or the first error code)',
    labelNames: ['transport', 'type', 'operation', 'outcome'],
    registers: [registry],
  }),
  operationSeconds: new Histogram({
    name: 'parley_graphql_operation_duration_seconds',
    help: 'Duration of GraphQL operations; for a subscription, how long it was open',
    labelNames: ['transport', 'type', 'operation'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }),
  wsConnections: new Gauge({ name: 'parley_ws_connections', help: 'Open, acknowledged graphql-ws connections', registers: [registry] }),
  wsOperations: new Gauge({ name: 'parley_ws_subscriptions', help: 'graphql-ws operations (subscriptions, mostly) open on this node', registers: [registry] }),
  runsEnqueued: new Counter({ name: 'parley_runs_enqueued_total', help: 'Run jobs enqueued (new runs, and runs resumed with tool outputs)', registers: [registry] }),
  runTransitions: new Counter({
    name: 'parley_run_transitions_total',
    help: 'Run status changes written by this process, by source and target status',
    labelNames: ['from', 'to'],
    registers: [registry],
  }),
  runsStarted: new Counter({ name: 'parley_runs_started_total', help: 'Runs a worker of this process took up (QUEUED to IN_PROGRESS)', labelNames: ['kind'], registers: [registry] }),
  runsFinished: new Counter({
    name: 'parley_runs_finished_total',
    help: 'Runs ended by this process, by kind, final status and reason (the error code, or none)',
    labelNames: ['kind', 'status', 'reason'],
    registers: [registry],
  }),
  runSeconds: new Histogram({
    name: 'parley_run_duration_seconds',
    help: 'From a run\u2019s creation to its end',
    labelNames: ['kind', 'status'],
    buckets: RUN_BUCKETS,
    registers: [registry],
  }),
  ttftSeconds: new Histogram({
    name: 'parley_run_ttft_seconds',
    help: 'Time to first token: from a run\u2019s creation (queue wait included) to the first token of its first model call',
    labelNames: ['model'],
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30],
    registers: [registry],
  }),
  queueWaitSeconds: new Histogram({
    name: 'parley_run_queue_wait_seconds',
    help: 'From enqueue to a worker starting the job (first attempts)',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120],
    registers: [registry],
  }),
  modelCalls: new Counter({ name: 'parley_model_calls_total', help: 'Model calls by model and outcome (ok, or the step\u2019s error code)', labelNames: ['model', 'outcome'], registers: [registry] }),
  modelCallSeconds: new Histogram({
    name: 'parley_model_call_duration_seconds',
    help: 'Model calls, from the step\u2019s start to the stream\u2019s end',
    labelNames: ['model'],
    buckets: RUN_BUCKETS,
    registers: [registry],
  }),
  tokens: new Counter({
    name: 'parley_model_tokens_total',
    help: 'Tokens billed by model and type (prompt, completion; reasoning and cached are subsets of those)',
    labelNames: ['model', 'type'],
    registers: [registry],
  }),
  cost: new Counter({ name: 'parley_model_cost_usd_total', help: 'Cost in USD by model (catalog prices)', labelNames: ['model'], registers: [registry] }),
  toolCalls: new Counter({ name: 'parley_tool_calls_total', help: 'Server tool calls by tool and outcome (ok, cached, error)', labelNames: ['tool', 'outcome'], registers: [registry] }),
  toolSeconds: new Histogram({ name: 'parley_tool_call_duration_seconds', help: 'Server tool calls', labelNames: ['tool'], buckets: LATENCY_BUCKETS, registers: [registry] }),
  appends: new Counter({ name: 'parley_event_log_appends_total', help: 'Run events appended to the Redis event log', registers: [registry] }),
  appendSeconds: new Histogram({
    name: 'parley_event_log_append_seconds',
    help: 'Redis event log writes (one round trip appends one or more events), one in 16 timed',
    buckets: FAST_BUCKETS,
    registers: [registry],
  }),
  readSeconds: new Histogram({ name: 'parley_event_log_read_seconds', help: 'Redis event log page reads (subscribers replaying or catching up)', buckets: FAST_BUCKETS, registers: [registry] }),
  stepWriteSeconds: new Histogram({
    name: 'parley_run_step_write_seconds',
    help: 'Writing a finished step (message, step row, run totals) in one transaction, retries included',
    labelNames: ['type'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }),
};

export const collected = {
  dbPool: new Gauge({ name: 'parley_db_pool_connections', help: 'Postgres connection pool of this process by state (used, free, pending)', labelNames: ['state'], registers: [registry] }),
  postgresUp: new Gauge({ name: 'parley_postgres_up', help: '1 when this process\u2019s last scrape query reached Postgres', registers: [registry] }),
  redisUp: new Gauge({
    name: 'parley_redis_up',
    help: '1 when this process\u2019s Redis connection is ready, 0 when not; absent without Redis',
    labelNames: ['connection'],
    registers: [registry],
  }),
  runsActive: new Gauge({ name: 'parley_runs_active', help: 'Runs not ended yet, by status, over the whole deployment (read from Postgres)', labelNames: ['status'], registers: [registry] }),
  queueDepth: new Gauge({
    name: 'parley_run_queue_depth',
    help: 'Run jobs waiting for a worker over the whole deployment (BullMQ waiting, prioritized and delayed; QUEUED runs without Redis)',
    registers: [registry],
  }),
};

export type Transport = 'http' | 'ws';

export function operationLabel(name: string | undefined): string {
  return operations.of(name);
}

export function operationFinished(transport: Transport, type: string, operation: string, outcome: string, seconds: number): void {
  if (!enabled) return;
  m.operations.inc({ transport, type, operation, outcome });
  m.operationSeconds.observe({ transport, type, operation }, seconds);
}

export function wsConnection(delta: 1 | -1): void {
  if (enabled) m.wsConnections.inc(delta);
}

export function wsOperation(delta: 1 | -1): void {
  if (enabled) m.wsOperations.inc(delta);
}

export function runEnqueued(): void {
  if (enabled) m.runsEnqueued.inc();
}

export function runTransition(from: string, to: string): void {
  if (enabled) m.runTransitions.inc({ from, to });
}

export function runStarted(kind: string): void {
  if (!enabled) return;
  m.runsStarted.inc({ kind });
  m.runTransitions.inc({ from: 'QUEUED', to: 'IN_PROGRESS' });
}

export function runFinished(kind: string, status: string, reason: string, seconds: number): void {
  if (!enabled) return;
  m.runsFinished.inc({ kind, status, reason });
  if (Number.isFinite(seconds)) m.runSeconds.observe({ kind, status }, Math.max(0, seconds));
}

export function runTimeToFirstToken(model: string, seconds: number): void {
  if (enabled && Number.isFinite(seconds)) m.ttftSeconds.observe({ model: models.of(model) }, Math.max(0, seconds));
}

export function queueWait(seconds: number): void {
  if (enabled && Number.isFinite(seconds)) m.queueWaitSeconds.observe(Math.max(0, seconds));
}

export interface StepUsage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  costUsd: number;
}

/** One model call, counted once from its step's usage record (never per token). */
export function modelCall(model: string, outcome: string, seconds: number, usage: StepUsage): void {
  if (!enabled) return;
  const label = models.of(model);
  m.modelCalls.inc({ model: label, outcome });
  if (Number.isFinite(seconds)) m.modelCallSeconds.observe({ model: label }, Math.max(0, seconds));
  if (usage.promptTokens) m.tokens.inc({ model: label, type: 'prompt' }, usage.promptTokens);
  if (usage.completionTokens) m.tokens.inc({ model: label, type: 'completion' }, usage.completionTokens);
  if (usage.reasoningTokens) m.tokens.inc({ model: label, type: 'reasoning' }, usage.reasoningTokens);
  if (usage.cachedTokens) m.tokens.inc({ model: label, type: 'cached' }, usage.cachedTokens);
  if (usage.costUsd > 0) m.cost.inc({ model: label }, usage.costUsd);
}

export function toolCall(tool: string, outcome: 'ok' | 'cached' | 'error', seconds: number): void {
  if (!enabled) return;
  const label = tools.of(tool);
  m.toolCalls.inc({ tool: label, outcome });
  if (Number.isFinite(seconds)) m.toolSeconds.observe({ tool: label }, Math.max(0, seconds));
}

export function stepWritten(type: string, seconds: number): void {
  if (enabled) m.stepWriteSeconds.observe({ type }, seconds);
}

/*
 * Event log writes happen up to once per token, so their cost is kept off
 * that path: plain integers count events and round trips (published to the
 * counter at scrape time) and one write in APPEND_SAMPLE is timed. An untimed
 * write costs two calls and two additions, and allocates nothing.
 */
const APPEND_SAMPLE = 16;
let appendsSinceScrape = 0;
let writes = 0;

/** Call before a write of `events` events; pass what it returns to `eventLogAppended`. 0 means "not timed". */
export function eventLogAppendStarted(events: number): number {
  if (!enabled) return 0;
  appendsSinceScrape += events;
  return ++writes % APPEND_SAMPLE === 0 ? performance.now() : 0;
}

export function eventLogAppended(startedAt: number): void {
  if (startedAt !== 0) m.appendSeconds.observe((performance.now() - startedAt) / 1000);
}

/** Call before a page read; pass what it returns to `eventLogRead`. */
export function eventLogReadStarted(): number {
  return enabled ? performance.now() : 0;
}

export function eventLogRead(startedAt: number): void {
  if (startedAt !== 0) m.readSeconds.observe((performance.now() - startedAt) / 1000);
}

/** Moves the append count into its counter; the endpoint calls it before each scrape. */
export function publishAppendCount(): void {
  if (appendsSinceScrape === 0) return;
  m.appends.inc(appendsSinceScrape);
  appendsSinceScrape = 0;
}
