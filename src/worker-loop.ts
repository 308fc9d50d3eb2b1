import type { Runtime } from './runtime';
import { RunExecutor } from './modules/runs/run-executor';
import { RunStore } from './modules/runs/run-store';
import { RunHeartbeat } from './modules/runs/run-heartbeat';
import { Run, RunStatus } from './modules/runs/run.entity';
import { ProviderSummarizer } from './modules/context/summarizer';
import { preloadEncodings } from './modules/context/tokenizer';
import { observeRunJob } from './observability/runs';

/**
 * Makes this process consume run jobs. With the in-memory queue, runs that were
 * active when the process last stopped cannot be resumed (their queue and event
 * log died with it), so they are failed at start; with Redis, BullMQ's stalled
 * job detection hands them to a live worker instead.
 */
export async function startWorker(rt: Runtime, opts: { recoverOrphans: boolean }): Promise<RunExecutor> {
  // A worker rides out a short Postgres outage (a restart, a failover) instead of losing the run's answer.
  const store = new RunStore(rt.orm.em, {
    budgetMs: rt.config.dbRetryMs,
    onRetry: (err, attempt, delayMs) => rt.logger.warn({ err, attempt, delayMs }, 'run write failed; retrying'),
  });
  const heartbeat = new RunHeartbeat(store, Math.max(100, Math.floor(rt.config.runLeaseMs / 4)), rt.logger);
  const executor = new RunExecutor({
    store,
    log: rt.eventLog,
    signals: rt.signals,
    providers: rt.providers,
    tools: rt.tools,
    logger: rt.logger,
    defaultMaxSteps: rt.config.maxSteps,
    runTimeoutMs: rt.config.runTimeoutMs,
    requiresActionTtlSeconds: rt.config.requiresActionTtlSeconds,
    heartbeat,
    summarizer: new ProviderSummarizer(rt.providers, rt.config.summaryModel),
  });
  if (opts.recoverOrphans) {
    const orphaned = await store.em().nativeUpdate(
      Run,
      { status: { $in: [RunStatus.QUEUED, RunStatus.IN_PROGRESS, RunStatus.CANCELLING] } },
      { status: RunStatus.FAILED, completedAt: new Date(), error: { code: 'SERVER_RESTARTED', message: 'The server restarted before the run finished' } },
    );
    if (orphaned) rt.logger.warn({ runs: orphaned }, 'failed runs orphaned by a previous process');
  }
  await rt.queue.work(async (job, attempt, progress) => observeRunJob(job, attempt, () => executor.execute(job, progress)));
  // The demo model needs no tokenizer; real providers get it warmed once the process is up.
  if (rt.providers.names().some((name) => name !== 'demo')) setTimeout(preloadEncodings, 100).unref();
  return executor;
}
