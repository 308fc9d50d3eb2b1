import type { Logger } from '../../logger';
import type { RunStore } from './run-store';

/**
 * The lease of the runs this process executes: one UPDATE per interval for
 * all of them renews runs.heartbeat_at. A run whose heartbeat is older than
 * the lease has lost its worker (process died, or it gave up on the run after
 * a failed final write) and the reconciler ends it.
 *
 * The timer runs only while runs are held, and beats first one interval after
 * it starts: a run shorter than the interval costs no statement at all (the
 * claim itself starts the lease).
 */
export class RunHeartbeat {
  /** Held runs, each with what to do when another writer ended it under us. */
  private readonly held = new Map<string, () => void>();
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;

  constructor(
    private readonly store: RunStore,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Renews `runId`'s lease until the returned release is called; `onLost` when the run was ended by someone else. */
  hold(runId: string, onLost: () => void): () => void {
    this.held.set(runId, onLost);
    this.timer ??= setInterval(() => void this.beat(), this.intervalMs).unref();
    return () => {
      this.held.delete(runId);
      if (!this.held.size && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private async beat(): Promise<void> {
    if (this.beating) return; // the last one is still waiting for Postgres
    const ids = [...this.held.keys()];
    this.beating = (async () => {
      try {
        const alive = await this.store.heartbeat(ids);
        for (const id of ids) if (!alive.has(id)) this.held.get(id)?.();
      } catch (err) {
        // Postgres away: the leases age, and the reconciler (which needs Postgres too) waits with us.
        this.logger.warn({ err, runs: ids.length }, 'run heartbeat failed');
      } finally {
        this.beating = undefined;
      }
    })();
    await this.beating;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
  }
}
