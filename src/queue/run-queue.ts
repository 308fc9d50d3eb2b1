import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from '../logger';
import { stampJob } from '../observability/runs';

/** A unit of work: execute (or continue) one run. */
export interface RunJob {
  runId: string;
  /**
   * The branch tip the run continues from, as the enqueuer knew it: lets the
   * worker load the branch path while it claims the run. Only a hint; the
   * claimed run's own tip wins if they differ.
   */
  tipId?: string;
  /**
   * Lower is taken first, FIFO among equals (BullMQ's convention): the fair
   * queue's round number for the run's user (see run-admission.ts). Absent = 1.
   */
  priority?: number;
  /**
   * A standby copy: the node that enqueued the job runs it itself and keeps
   * this copy, delayed, until it has claimed the run, in case it dies first.
   * A worker given it only starts a run that is still QUEUED; one already
   * claimed is its executor's, and covered by that executor's lease.
   */
  standby?: boolean;
}

/** What the handler of a job tells the queue while it runs. */
export interface JobProgress {
  /**
   * The job's run was claimed here, or found claimed or ended already: no
   * other copy of the job is needed from now on. Resolves once any copy is
   * gone (or could not be removed: it then finds the run taken, and lets it be).
   */
  claimed(): Promise<void>;
}

const NO_PROGRESS: JobProgress = { claimed: async () => undefined };

export type RunJobHandler = (job: RunJob, attempt: number, progress: JobProgress) => Promise<void>;

/**
 * Runs are jobs. With Redis they are BullMQ jobs that any worker process may
 * take (and that survive the death of the process running them); without
 * Redis they run in this process. Either way a process that consumes jobs and
 * has a free slot runs the jobs it enqueues itself, at once, when no job is
 * waiting ahead of them.
 */
export interface RunQueue {
  /**
   * Makes `job` durable and runnable once `ready` (the run's QUEUED event
   * being appended) has settled: the run's events come after that one, and a
   * failed append fails the enqueue. Resolves once the job is durable.
   */
  enqueue(job: RunJob, ready?: Promise<unknown>): Promise<void>;
  /** Starts consuming jobs in this process; resolves once it takes them (has looked for one). */
  work(handler: RunJobHandler): Promise<void>;
  close(): Promise<void>;
}

/** Tries of a job whose handler throws, and the pause before the second (doubling after): the same for both queues. */
export const JOB_ATTEMPTS = 3;
export const JOB_BACKOFF_MS = 1_000;

export class MemoryRunQueue implements RunQueue {
  private handler?: RunJobHandler;
  /** Ordered by priority, FIFO among equals, as BullMQ orders prioritized jobs. */
  private readonly backlog: { job: RunJob; attempt: number }[] = [];
  private readonly retries = new Set<NodeJS.Timeout>();
  private running = 0;
  private closed = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly concurrency: number,
    private readonly logger: Logger,
  ) {}

  async enqueue(job: RunJob, ready?: Promise<unknown>): Promise<void> {
    if (this.closed) throw new Error('queue closed');
    await ready;
    if (this.closed) throw new Error('queue closed');
    this.push({ job: stampJob(job, 'memory'), attempt: 1 });
    this.pump();
  }

  async work(handler: RunJobHandler): Promise<void> {
    this.handler = handler;
    this.pump();
  }

  private pump(): void {
    while (this.handler && !this.closed && this.running < this.concurrency && this.backlog.length) {
      const { job, attempt } = this.backlog.shift()!;
      this.running++;
      const p = this.handler(job, attempt, NO_PROGRESS)
        .catch((err: unknown) => {
          this.logger.error({ err, runId: job.runId, attempt }, 'run job failed');
          // As BullMQ does with Redis: a handler that threw (Postgres unreachable while claiming, say)
          // is tried again after a pause, so its run is claimed or ended instead of staying QUEUED.
          if (attempt < JOB_ATTEMPTS && !this.closed) this.retryLater({ job, attempt: attempt + 1 }, JOB_BACKOFF_MS * 2 ** (attempt - 1));
        })
        .finally(() => {
          this.running--;
          this.inFlight.delete(p);
          this.pump();
        });
      this.inFlight.add(p);
    }
  }

  private push(entry: { job: RunJob; attempt: number }): void {
    const priority = entry.job.priority ?? 1;
    // After the last entry of the same or a better (lower) priority: a binary search for the insertion point.
    let lo = 0;
    let hi = this.backlog.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.backlog[mid].job.priority ?? 1) <= priority) lo = mid + 1;
      else hi = mid;
    }
    this.backlog.splice(lo, 0, entry);
  }

  private retryLater(entry: { job: RunJob; attempt: number }, delayMs: number): void {
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.push(entry);
      this.pump();
    }, delayMs);
    timer.unref();
    this.retries.add(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    await Promise.allSettled([...this.inFlight]);
  }
}

export interface BullRunQueueOptions {
  redisUrl: string;
  prefix: string;
  concurrency: number;
  /** How long a worker's lock lives without renewal: a dead worker's run is noticed after this. */
  lockDurationMs: number;
  logger: Logger;
}

export class BullRunQueue implements RunQueue {
  private readonly queue: Queue<RunJob>;
  private worker?: Worker<RunJob>;
  private handler?: RunJobHandler;
  /** Jobs BullMQ gave this process's worker, being handled. */
  private delivered = 0;
  /** Jobs this process runs itself (`runHere`), reserved or running. */
  private local = 0;
  private readonly localRuns = new Set<Promise<void>>();
  /** This process's worker found the queue empty and waits for jobs: no job waits ahead of a new one. */
  private idle = false;
  private closing = false;

  constructor(private readonly opts: BullRunQueueOptions) {
    this.queue = new Queue<RunJob>('runs', { connection: this.connection(), prefix: this.bullPrefix });
  }

  private get bullPrefix(): string {
    return `${this.opts.prefix}bull`;
  }

  private connection() {
    const u = new URL(this.opts.redisUrl);
    return {
      host: u.hostname,
      port: Number(u.port || 6379),
      username: u.username || undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
      tls: u.protocol === 'rediss:' ? {} : undefined,
      maxRetriesPerRequest: null,
    };
  }

  async enqueue(job: RunJob, ready?: Promise<unknown>): Promise<void> {
    const stamped = stampJob(job, 'bullmq');
    if (this.hasRoomHere()) return this.runHere(stamped, ready);
    await ready;
    await this.add(stamped);
  }

  private add(job: RunJob, delay?: number): Promise<Job<RunJob>> {
    return this.queue.add('run', job, {
      priority: job.priority ?? 1,
      delay,
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 24 * 3600 },
      // A stalled job (its worker died) is picked up again; the executor then decides how to end it.
      // A job whose handler threw (Postgres unreachable while claiming, say) is tried again after a
      // pause: the run is claimed if still QUEUED, or ended WORKER_LOST if it was left IN_PROGRESS.
      attempts: JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: JOB_BACKOFF_MS },
    });
  }

  /**
   * Room here for a job this process enqueues: it works the queue, its worker
   * waits for jobs (none is waiting ahead of this one in the fair order), and
   * the jobs it runs — delivered, its own, and the one that the worker's
   * pending fetch may yet bring — stay within its concurrency.
   */
  private hasRoomHere(): boolean {
    return Boolean(this.handler) && this.idle && !this.closing && this.delivered + this.local + 2 <= this.opts.concurrency;
  }

  /** Local runs take slots from the worker, so that together they never exceed the concurrency. */
  private setLocal(delta: number): void {
    this.local += delta;
    if (this.worker) this.worker.concurrency = Math.max(1, this.opts.concurrency - this.local);
  }

  /**
   * Runs `job` in this process at once. A standby copy waits in the queue,
   * delayed by the lock duration so that no worker takes it meanwhile, until
   * the run is claimed here; if this process dies first, another worker
   * starts the run when the copy comes due, as it takes over a stalled job.
   * Resolves once the copy is durable and `ready` has settled; then the run starts.
   */
  private async runHere(job: RunJob, ready?: Promise<unknown>): Promise<void> {
    this.setLocal(1);
    const [added, appended] = await Promise.allSettled([this.add({ ...job, standby: true }, this.opts.lockDurationMs), ready]);
    if (added.status === 'rejected' || appended.status === 'rejected') {
      this.setLocal(-1);
      if (added.status === 'fulfilled') void added.value.remove().catch(() => undefined);
      throw appended.status === 'rejected' ? appended.reason : (added as PromiseRejectedResult).reason;
    }
    const standby = added.value;
    let removed: Promise<void> | undefined;
    const progress: JobProgress = {
      // A copy that came due and was taken meanwhile is locked: its worker finds the run claimed and lets it be.
      claimed: () =>
        (removed ??= standby.remove().catch((err: unknown) => this.opts.logger.warn({ err, runId: job.runId }, 'standby run job not removed'))),
    };
    const running = this.handler!(job, 1, progress)
      .catch((err: unknown) => {
        this.opts.logger.error({ err, runId: job.runId }, 'run job failed');
        // Not claimed (Postgres unreachable, say): the copy is tried by any worker after the usual pause.
        if (!removed) standby.changeDelay(JOB_BACKOFF_MS).catch(() => undefined);
      })
      .finally(() => {
        this.localRuns.delete(running);
        this.setLocal(-1);
      });
    this.localRuns.add(running);
  }

  async work(handler: RunJobHandler): Promise<void> {
    this.handler = handler;
    this.worker = new Worker<RunJob>(
      'runs',
      async (job: Job<RunJob>) => {
        this.delivered++;
        try {
          await handler(job.data, job.attemptsStarted ?? 1, NO_PROGRESS);
        } finally {
          this.delivered--;
        }
      },
      {
        connection: this.connection(),
        prefix: this.bullPrefix,
        concurrency: Math.max(1, this.opts.concurrency - this.local),
        lockDuration: this.opts.lockDurationMs,
        stalledInterval: Math.max(500, Math.floor(this.opts.lockDurationMs / 2)),
        maxStalledCount: 1,
      },
    );
    this.worker.on('error', (err) => this.opts.logger.error({ err }, 'run worker error'));
    this.worker.on('failed', (job, err) => this.opts.logger.error({ err, runId: job?.data.runId }, 'run job failed'));
    this.worker.on('drained', () => (this.idle = true));
    this.worker.on('active', () => (this.idle = false));
    const worker = this.worker;
    await new Promise<void>((resolve) => {
      const looked = () => {
        worker.off('drained', looked).off('active', looked).off('closed', looked);
        resolve();
      };
      worker.on('drained', looked).on('active', looked).on('closed', looked);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker?.close();
    await Promise.allSettled([...this.localRuns]);
    await this.queue.close();
  }
}
