import { z } from 'zod';

/**
 * The environment of metrics and traces, spread into src/config.ts's schema so
 * a bad value fails the boot like any other variable. This file imports
 * nothing of Parley's: config.ts imports it.
 */
export const observabilityEnv = {
  PARLEY_METRICS: z.enum(['on', 'off']).default('on'),
  PARLEY_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().trim().url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().trim().url().optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default('parley'),
};

type ObservabilityEnv = z.infer<z.ZodObject<typeof observabilityEnv>>;

export interface ObservabilityConfig {
  /** PARLEY_METRICS: Prometheus metrics are kept and served at /metrics. */
  metrics: boolean;
  /**
   * A separate listener for /metrics. Unset: an API node serves it on its own
   * port, a worker process (which has none) on WORKER_METRICS_PORT.
   */
  metricsPort?: number;
  /** Where spans are sent (OTLP over HTTP, JSON); unset: no tracing at all. */
  tracesUrl?: string;
  serviceName: string;
}

/** What a worker process listens on for scrapes when PARLEY_METRICS_PORT is unset (the OpenTelemetry Prometheus default). */
export const WORKER_METRICS_PORT = 9464;

export function toObservabilityConfig(e: ObservabilityEnv): ObservabilityConfig {
  // OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; the traces one, when given, is used as is (the OTLP spec's rule).
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  return {
    metrics: e.PARLEY_METRICS === 'on',
    metricsPort: e.PARLEY_METRICS_PORT,
    tracesUrl: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base}/v1/traces` : undefined),
    serviceName: e.OTEL_SERVICE_NAME,
  };
}
