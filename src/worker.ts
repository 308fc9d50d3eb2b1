import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { createRuntime } from './runtime';
import { startWorker } from './worker-loop';

/** `npm run worker`: a process that only executes runs (scale-out with REDIS_URL). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  if (!config.redisUrl) {
    logger.error('REDIS_URL: a separate worker needs Redis to share the run queue and event log with API nodes');
    process.exit(2);
  }
  const runtime = await createRuntime(config, logger);
  await startWorker(runtime, { recoverOrphans: false });
  logger.info({ concurrency: config.workerConcurrency }, 'Parley worker is running');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down');
    setTimeout(() => process.exit(1), 15_000).unref();
    runtime.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
