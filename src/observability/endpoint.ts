import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Logger } from '../logger';
import { WORKER_METRICS_PORT, type ObservabilityConfig } from './config';
import { publishAppendCount, registry } from './metrics';
import { refreshCollected } from './runtime';

async function answer(res: ServerResponse, logger: Logger): Promise<void> {
  try {
    publishAppendCount();
    await refreshCollected();
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(body);
  } catch (err) {
    logger.error({ err }, 'metrics scrape failed');
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('metrics unavailable\n');
  }
}

/**
 * Serves GET /metrics (Prometheus text format) when PARLEY_METRICS is on: on
 * PARLEY_METRICS_PORT when set, else on the API's own port (`app`), else (a
 * worker process, which has no HTTP server) on WORKER_METRICS_PORT. Returns
 * how to stop serving.
 */
export async function serveMetrics(
  config: { observability: ObservabilityConfig; host: string },
  logger: Logger,
  app?: Express,
): Promise<() => Promise<void>> {
  const { metrics, metricsPort } = config.observability;
  if (!metrics) return async () => undefined;
  if (app && metricsPort === undefined) {
    app.get('/metrics', (_req, res) => void answer(res, logger));
    return async () => undefined;
  }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') return void answer(res, logger);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'EADDRINUSE' ? new Error(`metrics port ${metricsPort ?? WORKER_METRICS_PORT} is in use; set PARLEY_METRICS_PORT`) : err),
    );
    server.listen(metricsPort ?? WORKER_METRICS_PORT, config.host, () => ok());
  });
  // Scrapes never keep a stopping process alive.
  server.unref();
  const { port } = server.address() as AddressInfo;
  logger.info({ url: `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}/metrics` }, 'metrics are served');
  return () =>
    new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    });
}
