import 'reflect-metadata';
import { createLogger } from './logger';
import { createRuntime } from './runtime';
import { startWorker } from './worker-loop';
import { exitOnCrash, exitOnSignals, loadConfigOrExit } from './process';

/** `npm run worker`: a process that only executes runs (scale-out with REDIS_URL). */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  if (!config.redisUrl) {
    logger.error('REDIS_URL: a separate worker needs Redis to share the run queue and event log with API nodes');
    process.exit(2);
  }
  const runtime = await createRuntime(config, logger);
  await startWorker(runtime, { recoverOrphans: false });
  logger.info({ concurrency: config.workerConcurrency }, 'Parley worker is running');
  exitOnSignals(logger, runtime.close);
}

main().catch(exitOnCrash);
