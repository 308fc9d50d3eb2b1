import 'reflect-metadata';
import { createLogger } from './logger';
import { createRuntime } from './runtime';
import { startWorker } from './worker-loop';
import { exitOnSignals, exitOnStartFailure, loadConfigOrExit } from './process';
import type { Config } from './config';
import { serveMetrics } from './observability';

/** `npm run worker`: a process that only executes runs (scale-out with REDIS_URL). */
async function main(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const runtime = await createRuntime(config, logger);
  await startWorker(runtime, { recoverOrphans: false });
  await serveMetrics(config, logger); // PARLEY_METRICS_PORT, else 9464: a worker has no HTTP server of its own
  logger.info({ concurrency: config.workerConcurrency }, 'Parley worker is running');
  exitOnSignals(logger, runtime.close, config.shutdownTimeoutMs);
}

const config = loadConfigOrExit();
// A separate worker shares the API nodes' queue, event log and database: the in-process and embedded defaults cannot be shared.
if (!config.redisUrl) {
  console.error('REDIS_URL: a separate worker needs Redis to share the run queue and event log with API nodes');
  process.exit(2);
}
if (!config.databaseUrl) {
  console.error("DATABASE_URL: a separate worker needs the API nodes' PostgreSQL (the embedded one serves a single `npm start`)");
  process.exit(2);
}
main(config).catch(exitOnStartFailure(config));
