import { isTerminal, isoNow, type RunEvent, type RunEventBody } from './run-event.types';

/** One append call waiting for its batch: one event (`append`) or several that stay together (`appendBatch`). */
export type QueuedAppend = {
  bodies: readonly RunEventBody[];
  /** When it was appended (ISO): the `at` of its events, whatever batch they end up in. */
  at: string;
  create: boolean;
  reject(err: unknown): void;
} & ({ one: true; resolve(event: RunEvent): void } | { one: false; resolve(events: RunEvent[]): void });

/** Appends the events of one batch atomically, with consecutive seqs, in one round trip; resolves with them in order. */
export type SendBatch = (runId: string, batch: readonly QueuedAppend[], events: number) => Promise<RunEvent[]>;

interface RunQueue {
  waiting: QueuedAppend[];
  /** A batch of this run is on its way: appends wait for it instead of going out on their own. */
  busy: boolean;
}

/**
 * Most events one coalesced batch carries: one script call holds Redis for the
 * whole batch, and a subscriber gets none of its events before all are stored.
 * An `appendBatch` larger than this still goes out whole, alone.
 */
export const MAX_BATCH = 256;

/**
 * Coalesces one process's appends to a run: an append finding nothing of its
 * run in flight goes out at once, alone (no added wait); appends made while a
 * batch is in flight wait for it and then go out together, as the next batch.
 * At most one batch per run is in flight, so batches (and their seqs) keep
 * append order; different runs do not wait for each other.
 *
 * Every append still gets its own events and its own outcome: a failed batch
 * rejects each of its appends with the batch's error, and the next batch is
 * sent regardless, as the next append would have been on its own.
 *
 * A batch never carries an event past a terminal one (those are refused after
 * it, in a batch of their own), and an append that creates the log starts a
 * batch, so every append has the outcome it would have had sent alone.
 */
export class AppendCoalescer {
  private readonly runs = new Map<string, RunQueue>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly send: SendBatch) {}

  append(runId: string, body: RunEventBody, create: boolean): Promise<RunEvent> {
    return new Promise<RunEvent>((resolve, reject) => this.enqueue(runId, { bodies: [body], one: true, at: isoNow(), create, resolve, reject }));
  }

  appendBatch(runId: string, bodies: readonly RunEventBody[], create: boolean): Promise<RunEvent[]> {
    return new Promise<RunEvent[]>((resolve, reject) =>
      this.enqueue(runId, { bodies, one: false, at: isoNow(), create, resolve, reject }),
    );
  }

  private enqueue(runId: string, item: QueuedAppend): void {
    let run = this.runs.get(runId);
    if (!run) {
      run = { waiting: [], busy: false };
      this.runs.set(runId, run);
    }
    run.waiting.push(item);
    if (!run.busy) this.flush(runId, run);
  }

  /** Resolves once every append made so far has been answered. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private flush(runId: string, run: RunQueue): void {
    const { batch, events } = takeBatch(run);
    run.busy = true;
    const sent = this.sendBatch(runId, batch, events).then(() => {
      this.inFlight.delete(sent);
      if (run.waiting.length > 0) this.flush(runId, run);
      else {
        run.busy = false;
        this.runs.delete(runId);
      }
    });
    this.inFlight.add(sent);
  }

  /** Settles every append of the batch; never rejects. */
  private async sendBatch(runId: string, batch: QueuedAppend[], count: number): Promise<void> {
    let events: RunEvent[];
    try {
      events = await this.send(runId, batch, count);
      if (events.length !== count) throw new Error(`a batch of ${count} events stored ${events.length}`);
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    let at = 0;
    for (const item of batch) {
      if (item.one) item.resolve(events[at++]);
      else {
        item.resolve(events.slice(at, at + item.bodies.length));
        at += item.bodies.length;
      }
    }
  }
}

/** Removes the next batch from the front of the run's queue: whole appends, in order. */
function takeBatch(run: RunQueue): { batch: QueuedAppend[]; events: number } {
  const { waiting } = run;
  let n = 0;
  let events = 0;
  while (n < waiting.length) {
    const item = waiting[n];
    if (n > 0 && (item.create || events + item.bodies.length > MAX_BATCH)) break;
    n++;
    events += item.bodies.length;
    if (isTerminal(item.bodies[item.bodies.length - 1])) break;
  }
  if (n === waiting.length) {
    run.waiting = [];
    return { batch: waiting, events };
  }
  return { batch: waiting.splice(0, n), events };
}
