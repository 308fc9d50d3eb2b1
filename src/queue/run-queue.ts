import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from '../logger';

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
}

export type RunJobHandler = (job: RunJob, attempt: number) => Promise<void>;

/**
 * Runs are jobs. With Redis they are BullMQ jobs that any worker process may
 * take (and that survive the death of the process running them); without
 * Redis they run in this process.
 */
export interface RunQueue {
  enqueue(job: RunJob): Promise<void>;
  /** Starts consuming jobs in this process. */
  work(handler: RunJobHandler): void;
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

  async enqueue(job: RunJob): Promise<void> {
    if (this.closed) throw new Error('queue closed');
    this.push({ job, attempt: 1 });
    this.pump();
  }

  work(handler: RunJobHandler): void {
    this.handler = handler;
    this.pump();
  }

  private pump(): void {
    while (this.handler && !this.closed && this.running < this.concurrency && this.backlog.length) {
      const { job, attempt } = this.backlog.shift()!;
      this.running++;
      const p = this.handler(job, attempt)
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

  async enqueue(job: RunJob): Promise<void> {
    await this.queue.add('run', job, {
      priority: job.priority ?? 1,
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 24 * 3600 },
      // A stalled job (its worker died) is picked up again; the executor then decides how to end it.
      // A job whose handler threw (Postgres unreachable while claiming, say) is tried again after a
      // pause: the run is claimed if still QUEUED, or ended WORKER_LOST if it was left IN_PROGRESS.
      attempts: JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: JOB_BACKOFF_MS },
    });
  }

  work(handler: RunJobHandler): void {
    this.worker = new Worker<RunJob>(
      'runs',
      async (job: Job<RunJob>) => handler(job.data, job.attemptsStarted ?? 1),
      {
        connection: this.connection(),
        prefix: this.bullPrefix,
        concurrency: this.opts.concurrency,
        lockDuration: this.opts.lockDurationMs,
        stalledInterval: Math.max(500, Math.floor(this.opts.lockDurationMs / 2)),
        maxStalledCount: 1,
      },
    );
    this.worker.on('error', (err) => this.opts.logger.error({ err }, 'run worker error'));
    this.worker.on('failed', (job, err) => this.opts.logger.error({ err, runId: job?.data.runId }, 'run job failed'));
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
