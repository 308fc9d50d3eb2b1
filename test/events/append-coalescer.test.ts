import { AppendCoalescer, MAX_BATCH, type QueuedAppend } from '../../src/events/append-coalescer';
import type { RunEvent, RunEventBody } from '../../src/events/run-event.types';

/**
 * The coalescing rules alone, against a scripted sender whose round trips the
 * test completes by hand: which appends travel together, in what order, and
 * what each caller is told. (run-event-log.test.ts runs them on real Redis.)
 */

const token = (i: number): RunEventBody => ({ type: 'TokenDelta', stepIndex: 0, text: `t${i}` });
const usage = { promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, costUsd: 0 };
const done: RunEventBody = { type: 'RunCompleted', status: 'COMPLETED', usage };

interface Sent {
  runId: string;
  bodies: RunEventBody[];
  create: boolean;
  succeed(): void;
  fail(err: unknown): void;
}

/** A sender that stores nothing until told to: every batch waits in `sent` for succeed() or fail(). */
function scripted() {
  const sent: Sent[] = [];
  const seqs = new Map<string, number>();
  const coalescer = new AppendCoalescer((runId, batch: readonly QueuedAppend[], count) => {
    const bodies = batch.flatMap((item) => [...item.bodies]);
    expect(bodies).toHaveLength(count);
    return new Promise<RunEvent[]>((resolve, reject) => {
      sent.push({
        runId,
        bodies,
        create: batch[0].create,
        succeed: () => {
          const first = (seqs.get(runId) ?? 0) + 1;
          seqs.set(runId, first + bodies.length - 1);
          resolve(bodies.map((b, i) => ({ ...b, seq: first + i, runId, at: batch[0].at }) as RunEvent));
        },
        fail: reject,
      });
    });
  });
  return { sent, coalescer };
}

/** Lets the coalescer react to a settled batch (its continuation runs in microtasks). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const texts = (s: Sent) => s.bodies.map((b) => (b.type === 'TokenDelta' ? b.text : b.type));

describe('AppendCoalescer', () => {
  it('sends a lone append at once, and coalesces the appends made while it is in flight into one batch', async () => {
    const { sent, coalescer } = scripted();
    const first = coalescer.append('r', token(1), true);
    expect(sent.map(texts)).toEqual([['t1']]); // no wait for company
    const rest = [2, 3, 4].map((i) => coalescer.append('r', token(i), false));
    expect(sent).toHaveLength(1);
    sent[0].succeed();
    await expect(first).resolves.toMatchObject({ seq: 1, text: 't1' });
    expect(sent.map(texts)).toEqual([['t1'], ['t2', 't3', 't4']]);
    expect(sent[0].create).toBe(true);
    expect(sent[1].create).toBe(false);
    sent[1].succeed();
    expect((await Promise.all(rest)).map((e) => [e.seq, e.type === 'TokenDelta' && e.text])).toEqual([[2, 't2'], [3, 't3'], [4, 't4']]);
    // Idle again: the next append goes out alone, at once.
    const next = coalescer.append('r', token(5), false);
    expect(sent.map(texts)).toEqual([['t1'], ['t2', 't3', 't4'], ['t5']]);
    sent[2].succeed();
    await expect(next).resolves.toMatchObject({ seq: 5 });
  });

  it('keeps an appendBatch whole and answers it with its events', async () => {
    const { sent, coalescer } = scripted();
    const a = coalescer.append('r', token(1), true);
    const b = coalescer.appendBatch('r', [token(2), token(3)], false);
    const c = coalescer.append('r', token(4), false);
    sent[0].succeed();
    await settle();
    expect(sent.map(texts)).toEqual([['t1'], ['t2', 't3', 't4']]);
    sent[1].succeed();
    await expect(a).resolves.toMatchObject({ seq: 1 });
    expect((await b).map((e) => e.seq)).toEqual([2, 3]);
    await expect(c).resolves.toMatchObject({ seq: 4 });
  });

  it('ends a batch at a terminal event, so what follows is refused on its own', async () => {
    const { sent, coalescer } = scripted();
    void coalescer.append('r', token(1), true);
    const queued = [coalescer.append('r', token(2), false), coalescer.append('r', done, false), coalescer.append('r', token(3), false)];
    sent[0].succeed();
    await settle();
    expect(sent.map(texts)).toEqual([['t1'], ['t2', 'RunCompleted']]);
    sent[1].succeed();
    await settle();
    expect(sent.map(texts)).toEqual([['t1'], ['t2', 'RunCompleted'], ['t3']]);
    const ended = new Error('ended');
    sent[2].fail(ended);
    const outcomes = await Promise.allSettled(queued);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBe(ended);
  });

  it('starts a batch at an append that creates the log', async () => {
    const { sent, coalescer } = scripted();
    void coalescer.append('r', token(1), false);
    void coalescer.append('r', token(2), false);
    void coalescer.append('r', token(3), true);
    void coalescer.append('r', token(4), false);
    sent[0].succeed();
    await settle();
    sent[1].succeed();
    await settle();
    expect(sent.map((s) => [texts(s), s.create])).toEqual([
      [['t1'], false],
      [['t2'], false],
      [['t3', 't4'], true],
    ]);
  });

  it(`caps a coalesced batch at ${MAX_BATCH} events`, async () => {
    const { sent, coalescer } = scripted();
    void coalescer.append('r', token(0), true);
    for (let i = 1; i <= MAX_BATCH + 10; i++) void coalescer.append('r', token(i), false);
    sent[0].succeed();
    await settle();
    sent[1].succeed();
    await settle();
    expect(sent.map((s) => s.bodies.length)).toEqual([1, MAX_BATCH, 10]);
  });

  it('rejects every append of a failed batch with its error, and still sends the next batch', async () => {
    const { sent, coalescer } = scripted();
    const first = coalescer.append('r', token(1), true);
    const failed = [2, 3, 4].map((i) => coalescer.append('r', token(i), false));
    sent[0].succeed();
    await first;
    await settle();
    const later = coalescer.append('r', token(5), false);
    const boom = new Error('connection lost');
    sent[1].fail(boom);
    const outcomes = await Promise.allSettled(failed);
    expect(outcomes.map((o) => (o.status === 'rejected' ? o.reason : o.status))).toEqual([boom, boom, boom]);
    expect(sent.map(texts)).toEqual([['t1'], ['t2', 't3', 't4'], ['t5']]);
    sent[2].succeed();
    await expect(later).resolves.toMatchObject({ text: 't5' });
  });

  it('lets different runs go out side by side', async () => {
    const { sent, coalescer } = scripted();
    void coalescer.append('a', token(1), true);
    void coalescer.append('b', token(1), true);
    void coalescer.append('a', token(2), false);
    expect(sent.map((s) => [s.runId, texts(s)])).toEqual([
      ['a', ['t1']],
      ['b', ['t1']],
    ]);
  });

  it('drains: resolves once every append made so far is answered', async () => {
    const { sent, coalescer } = scripted();
    const appends = [1, 2, 3].map((i) => coalescer.append('r', token(i), i === 1));
    let drained = false;
    const draining = coalescer.drain().then(() => (drained = true));
    sent[0].succeed();
    await settle();
    expect(drained).toBe(false); // t2 and t3 are on their way
    sent[1].succeed();
    await draining;
    expect((await Promise.all(appends)).map((e) => e.seq)).toEqual([1, 2, 3]);
  });
});
