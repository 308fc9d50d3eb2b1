import { performance } from 'node:perf_hooks';
import type { Logger } from '../../logger';
import { isTransientDbError } from '../../db/retry';
import type { RunEventLog } from '../../events/run-event-log';
import type { LeaderLock } from '../../queue/leader-lock';
import type { RunSignals } from '../../queue/run-signals';
import { RunStatus, type Run } from './run.entity';
import { finishOrCancel, finishRun } from './run-outcome';
import type { ReconcileCandidate, RunStore } from './run-store';

export interface RunReconcilerDeps {
  store: RunStore;
  log: RunEventLog;
  signals: RunSignals;
  /** Who leads: a Redis lock shared by every process of the deployment, or always this one without Redis. */
  lock: LeaderLock;
  logger: Logger;
  /** PARLEY_RUN_LEASE_MS */
  leaseMs: number;
  /** PARLEY_REQUIRES_ACTION_TTL_S */
  requiresActionTtlSeconds: number;
  /** PARLEY_RECONCILE_INTERVAL_MS */
  intervalMs: number;
}

/** Runs ended per pass; the rest wait for the next one. */
const BATCH = 100;

/**
 * Ends the runs nobody else will end, so that every run ends even when no
 * worker is left: executing runs whose worker lease expired (WORKER_LOST, or
 * RUN_TIMEOUT past their deadline; CANCELLED if a cancel was pending), and
 * paused runs whose tool outputs never came (REQUIRES_ACTION_EXPIRED). Every
 * process runs one; only the lock's holder works. Runs end through finishRun,
 * the one terminal writer, so subscribers get their terminal event and the
 * branch is free; a race with a worker that is still alive is decided there.
 */
export class RunReconciler {
  private timer?: NodeJS.Timeout;
  private pass?: Promise<number>;
  private stopped = false;
  /** The last pass could not reach Postgres. */
  private unreachable = false;
  /** performance.now() until which expired leases are not trusted (a lease after Postgres came back). */
  private leasesTrustedFrom = 0;
  private leading = false;

  constructor(private readonly deps: RunReconcilerDeps) {}

  start(): this {
    this.schedule();
    return this;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.reconcile().catch((err: unknown) => {
        this.deps.logger.warn({ err }, 'run reconciliation failed');
        return 0;
      });
      void this.pass.finally(() => this.schedule());
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /** One pass: ends what it finds if this process leads; the number of runs ended. */
  async reconcile(): Promise<number> {
    const leading = await this.deps.lock.acquire();
    const { leaseMs, requiresActionTtlSeconds } = this.deps;
    // A process that just became leader may have taken over from one stuck in an outage it never
    // saw: it trusts expired leases only once every worker had a full lease to renew them.
    if (leading && !this.leading) this.leasesTrustedFrom = performance.now() + leaseMs;
    this.leading = leading;
    if (!leading) return 0;
    let candidates: ReconcileCandidate[];
    try {
      candidates = await this.deps.store.findUnreconciled(leaseMs, requiresActionTtlSeconds, BATCH);
    } catch (err) {
      this.unreachable ||= isTransientDbError(err);
      throw err;
    }
    if (this.unreachable) {
      // Postgres was away for us, so for the workers too: no lease could be renewed. Until each had a
      // full lease to renew it, an expired one says nothing (the store's query covers a restart, not a
      // network outage or a failover).
      this.unreachable = false;
      this.leasesTrustedFrom = performance.now() + leaseMs;
    }
    if (performance.now() < this.leasesTrustedFrom) candidates = candidates.filter((c) => c.status === RunStatus.REQUIRES_ACTION);
    let ended = 0;
    for (const candidate of candidates) {
      try {
        if (await this.end(candidate)) ended++;
      } catch (err) {
        this.deps.logger.warn({ err, runId: candidate.id }, 'could not end an abandoned run');
      }
    }
    if (ended) this.deps.logger.warn({ runs: ended }, 'reconciler ended abandoned runs');
    return ended;
  }

  private async end({ id, status, pastDeadline }: ReconcileCandidate): Promise<boolean> {
    // finishRun reads only the id (and reloads the row for usage when it needs it).
    const run = { id } as Run;
    if (status === RunStatus.REQUIRES_ACTION) {
      return finishRun(this.deps, run, RunStatus.FAILED, [RunStatus.REQUIRES_ACTION], {
        code: 'REQUIRES_ACTION_EXPIRED',
        message: 'The run waited too long for its tool outputs',
      });
    }
    const ended =
      status === RunStatus.CANCELLING
        ? await finishRun(this.deps, run, RunStatus.CANCELLED, [RunStatus.CANCELLING])
        : await finishOrCancel(
            this.deps,
            run,
            RunStatus.FAILED,
            [RunStatus.IN_PROGRESS],
            pastDeadline
              ? { code: 'RUN_TIMEOUT', message: 'The run passed its deadline and its worker did not end it' }
              : { code: 'WORKER_LOST', message: 'The worker executing this run stopped before it finished; the unfinished step was discarded' },
          );
    // A worker that is alive but stuck (its heartbeat kept going past the deadline) is told to stop.
    await this.deps.signals.requestCancel(id).catch(() => undefined);
    return ended;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pass;
    await this.deps.lock.release().catch(() => undefined);
  }
}
