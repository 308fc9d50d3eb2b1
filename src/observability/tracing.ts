import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Attributes, type Context as OtelContext, type Span, type Tracer } from '@opentelemetry/api';
import { NodeTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';

/**
 * OpenTelemetry traces, off unless a collector is configured
 * (OTEL_EXPORTER_OTLP_ENDPOINT): then one trace follows a run from the HTTP
 * request that started it, through the queue (its context rides in the job),
 * to the worker's model calls, tool calls and step writes. While off, every
 * helper here returns at once and no context manager is installed.
 */
let provider: NodeTracerProvider | undefined;
/** Whether `provider` was made here from configuration (and is ours to shut down). */
let ownProvider = false;
let users = 0;
let tracer: Tracer | undefined;

export { SpanKind, SpanStatusCode, type Span };

export function tracingEnabled(): boolean {
  return tracer !== undefined;
}

/** The tracer, for code that checked `tracingEnabled()`. */
export function activeTracer(): Tracer {
  if (!tracer) throw new Error('tracing is off');
  return tracer;
}

/**
 * Installs a tracer provider with these processors (tests use an
 * InMemorySpanExporter; an embedding program its own exporter). Runtimes
 * created afterwards use it whatever their configuration says.
 */
export function installTracing(spanProcessors: SpanProcessor[], serviceName = 'parley'): NodeTracerProvider {
  if (provider) throw new Error('tracing is already installed');
  provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': serviceName }), spanProcessors });
  // The AsyncLocalStorage context manager and the W3C trace-context propagator (traceparent).
  provider.register();
  tracer = provider.getTracer('parley');
  return provider;
}

/** Removes the provider (flushing its spans); the next `installTracing` or runtime starts afresh. */
export async function uninstallTracing(): Promise<void> {
  const current = provider;
  provider = undefined;
  tracer = undefined;
  ownProvider = false;
  users = 0;
  trace.disable();
  context.disable();
  propagation.disable();
  await current?.shutdown();
}

/**
 * A runtime's share of tracing: with `tracesUrl` and no provider yet, one is
 * made that exports in batches over OTLP/HTTP. The returned function gives the
 * share back; the last one out flushes and shuts down a provider made here.
 */
export function startTracing(opts: { tracesUrl?: string; serviceName: string }): () => Promise<void> {
  if (!provider && opts.tracesUrl) {
    installTracing([new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.tracesUrl }))], opts.serviceName);
    ownProvider = true;
  }
  if (!provider) return async () => undefined;
  users++;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--users > 0 || !ownProvider) return;
    await uninstallTracing();
  };
}

/** A span's parent as carried over a hop (HTTP headers, a job's data), or the current context. */
export function extractContext(carrier: Record<string, unknown> | undefined): OtelContext {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : context.active();
}

/** The W3C trace context of `ctx` (default: the current one), to carry over a hop. */
export function injectContext(ctx: OtelContext = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Runs `fn` with `span` current, so spans started within it are its children. */
export function withSpan<T>(span: Span, fn: () => T, parent: OtelContext = context.active()): T {
  return context.with(trace.setSpan(parent, span), fn);
}

/**
 * `fn` inside a child span of the current one, ended when it settles (status
 * ERROR if it throws). Without tracing, just `fn()`.
 */
export async function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  if (!tracer) return fn();
  const span = tracer.startSpan(name, { kind, attributes });
  try {
    return await withSpan(span, fn);
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A span for something that already happened (a model call, a tool call),
 * made from its recorded start and end: nothing runs per token or per chunk.
 */
export function recordSpan(name: string, kind: SpanKind, start: Date | number, end: Date | number, attributes: Attributes, error?: { code: string; message?: string }): void {
  if (!tracer) return;
  const span = tracer.startSpan(name, { kind, startTime: start, attributes });
  if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error.code }).setAttribute('error.type', error.code);
  span.end(end);
}

export function failSpan(span: Span, err: unknown): void {
  const type = (err as { code?: unknown } | undefined)?.code;
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof type === 'string' ? type : (err as Error | undefined)?.name });
  span.setAttribute('error.type', typeof type === 'string' ? type : ((err as Error | undefined)?.name ?? 'Error'));
}
