import { performance } from 'node:perf_hooks';
import { context, trace } from '@opentelemetry/api';
import type { Logger } from '../logger';
import type { RunJob } from '../queue/run-queue';
import * as metrics from './metrics';
import { currentRequestId, requestScope } from './request-scope';
import { SpanKind, activeTracer, extractContext, failSpan, inSpan, injectContext, recordSpan, tracingEnabled, withSpan } from './tracing';

/*
 * The run engine's observation points: a job stamped at enqueue and taken up
 * by a worker, a run started and ended, each model call, tool call and step
 * write. Each is one call from the engine; metrics, spans and log lines are
 * decided here. None runs per token: model calls are recorded from their
 * step's usage record once the step is over.
 */

/** Carried in a run job's data across the queue hop. */
interface JobTelemetry {
  enqueuedAt: number;
  /** The request that queued the run: the worker logs the run's lines under it. */
  requestId?: string;
  /** W3C trace context of the enqueue (traceparent), when tracing. */
  trace?: Record<string, string>;
}

type StampedJob = RunJob & { telemetry?: JobTelemetry };

/** Anything with a run's identity: the entity, or a row read for it. */
interface RunLike {
  id: string;
  model: string;
  /** Absent when the run is known by its id alone (the reconciler ends it). */
  createdAt?: Date;
  /** Run.kind once runs have kinds (CHAT, ROUTER, …); absent means CHAT. */
  kind?: string;
}

const kindOf = (run: RunLike) => (run as { kind?: unknown }).kind?.toString() ?? 'CHAT';

/** Before a job is queued: when, by which request, and in which trace. */
export function stampJob(job: RunJob, system: 'bullmq' | 'memory'): RunJob {
  metrics.runEnqueued();
  const telemetry: JobTelemetry = { enqueuedAt: Date.now(), requestId: currentRequestId() };
  if (tracingEnabled()) {
    const span = activeTracer().startSpan('publish runs', {
      kind: SpanKind.PRODUCER,
      attributes: { 'messaging.system': system, 'messaging.operation.type': 'send', 'messaging.destination.name': 'runs', 'parley.run.id': job.runId },
    });
    telemetry.trace = injectContext(trace.setSpan(context.active(), span));
    span.end();
  }
  return { ...job, telemetry } as StampedJob;
}

/**
 * A worker executing a job: its queue wait measured, its log lines under the
 * request that queued it, and (tracing) a consumer span whose parent is the
 * enqueue, across processes.
 */
export async function observeRunJob(job: RunJob, attempt: number, execute: () => Promise<void>): Promise<void> {
  const telemetry = (job as StampedJob).telemetry;
  if (telemetry && attempt === 1) metrics.queueWait((Date.now() - telemetry.enqueuedAt) / 1000);
  const scoped = telemetry?.requestId ? () => requestScope.run({ requestId: telemetry.requestId! }, execute) : execute;
  if (!tracingEnabled()) return scoped();
  // Without a carried context (a job from before tracing was on) the current one, if any, is the parent.
  const parent = extractContext(telemetry?.trace);
  const span = activeTracer().startSpan(
    'process runs',
    {
      kind: SpanKind.CONSUMER,
      attributes: { 'messaging.operation.type': 'process', 'messaging.destination.name': 'runs', 'parley.run.id': job.runId, 'parley.run.attempt': attempt },
    },
    parent,
  );
  try {
    return await withSpan(span, scoped, parent);
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** A worker claimed the run (QUEUED → IN_PROGRESS). */
export function observeRunStarted(logger: Logger, run: RunLike): void {
  const kind = kindOf(run);
  metrics.runStarted(kind);
  trace.getActiveSpan()?.setAttributes({ 'parley.run.kind': kind, 'parley.model': run.model });
  logger.info({ runId: run.id, kind, model: run.model }, 'run started');
}

/** Who ends runs: the executor and the reconciler log through their logger; the API's commands count only. */
export interface RunEndObserver {
  logger?: Logger;
}

/** The run's terminal transition was written (once per run, by whoever ended it). */
export function observeRunEnded({ logger }: RunEndObserver, run: RunLike, status: string, previousStatus: string, error?: { code: string; message?: string }): void {
  const kind = kindOf(run);
  // A run ended by the reconciler is known by its id alone: its duration is then not observed.
  const startedMs = run.createdAt === undefined ? NaN : new Date(run.createdAt).getTime();
  const durationMs = Number.isFinite(startedMs) ? Date.now() - startedMs : undefined;
  metrics.runFinished(kind, status, error?.code ?? 'none', durationMs === undefined ? NaN : durationMs / 1000);
  trace.getActiveSpan()?.setAttributes({ 'parley.run.status': status, ...(error ? { 'error.type': error.code } : {}) });
  const line = { runId: run.id, kind, status, previousStatus, durationMs, reason: error?.code, error: error?.message };
  if (status === 'FAILED') logger?.warn(line, 'run failed');
  else logger?.info(line, `run ${status.toLowerCase()}`);
}

/** A run status write that took effect (the conditional update moved the row). */
export function observeRunTransition(from: readonly string[], to: string): void {
  metrics.runTransition(from.length === 1 ? from[0] : 'ANY', to);
}

export interface ModelCallRecord {
  run: RunLike;
  /** The resolved model: who was asked, under which upstream name. */
  model: { provider: { name: string }; upstreamModel: string };
  index: number;
  startedAt: Date;
  completedAt: Date;
  firstTokenAt?: number;
  usage: metrics.StepUsage;
  error?: { code: string; message?: string };
}

/** A model call, from its step's record: tokens and cost by model, TTFT, and a GenAI client span. */
export function observeModelCall(call: ModelCallRecord): void {
  const { run, model, usage, error } = call;
  const seconds = (call.completedAt.getTime() - call.startedAt.getTime()) / 1000;
  metrics.modelCall(run.model, error?.code ?? 'ok', seconds, usage);
  // A run's time to first token is its first step's (step 0 of a run that had written nothing before).
  if (call.index === 0 && call.firstTokenAt !== undefined && run.createdAt) metrics.runTimeToFirstToken(run.model, (call.firstTokenAt - new Date(run.createdAt).getTime()) / 1000);
  recordSpan(
    `chat ${model.upstreamModel}`,
    SpanKind.CLIENT,
    call.startedAt,
    call.completedAt,
    {
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': model.provider.name,
      'gen_ai.provider.name': model.provider.name,
      'gen_ai.request.model': model.upstreamModel,
      'gen_ai.usage.input_tokens': usage.promptTokens,
      'gen_ai.usage.output_tokens': usage.completionTokens,
      'parley.usage.reasoning_tokens': usage.reasoningTokens,
      'parley.usage.cost_usd': usage.costUsd,
      'parley.model': run.model,
      'parley.run.id': run.id,
      'parley.step.index': call.index,
      ...(call.firstTokenAt !== undefined ? { 'parley.ttft_ms': call.firstTokenAt - call.startedAt.getTime() } : {}),
    },
    error,
  );
}

/** A server tool call (or a call to a tool the run may not use), once it returned. */
export function observeToolCall(
  runId: string,
  index: number,
  call: { id: string; name: string },
  startedAt: Date,
  result: { isError: boolean; cached: boolean; durationMs: number },
): void {
  metrics.toolCall(call.name, result.isError ? 'error' : result.cached ? 'cached' : 'ok', result.durationMs / 1000);
  recordSpan(
    `execute_tool ${call.name}`,
    SpanKind.INTERNAL,
    startedAt,
    new Date(),
    {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': call.name,
      'gen_ai.tool.call.id': call.id,
      'parley.tool.cached': result.cached,
      'parley.run.id': runId,
      'parley.step.index': index,
    },
    result.isError ? { code: 'TOOL_ERROR' } : undefined,
  );
}

/** A step's one transaction (message, step row, run totals), retries included. */
export async function observeStepWrite<T>(step: { index: number; type: string }, write: () => Promise<T>): Promise<T> {
  const startedAt = performance.now();
  const result = await inSpan(
    'persist run step',
    { 'db.system.name': 'postgresql', 'db.operation.name': 'persist_step', 'parley.step.index': step.index, 'parley.step.type': step.type },
    write,
    SpanKind.CLIENT,
  );
  metrics.stepWritten(step.type, (performance.now() - startedAt) / 1000);
  return result;
}
