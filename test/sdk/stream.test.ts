import { ParleyError, RunStream, isParleyError, type RunEvent } from '../../sdk';
import type { SubscribeClient } from '../../sdk/lib/socket';
import { EventScript } from './events';

type Sink = Parameters<SubscribeClient['subscribe']>[1];

/** What the fake server does with one subscription: push results and end it through the sink. */
type Behaviour = (sink: Sink, after: number) => void;

/**
 * A graphql-ws client stand-in: each subscription runs the next behaviour,
 * synchronously or later through `sink`. Records every `after` asked for and
 * every unsubscribe.
 */
class FakeSocket implements SubscribeClient {
  readonly afters: number[] = [];
  unsubscribed = 0;
  private readonly behaviours: Behaviour[];

  constructor(...behaviours: Behaviour[]) {
    this.behaviours = behaviours;
  }

  subscribe: SubscribeClient['subscribe'] = (payload, sink) => {
    const after = (payload.variables as { after: number }).after;
    this.afters.push(after);
    const behaviour = this.behaviours.shift();
    if (!behaviour) throw new Error(`unexpected subscription #${this.afters.length} (after ${after})`);
    behaviour(sink, after);
    return () => {
      this.unsubscribed++;
    };
  };
}

const ctx = (socket: FakeSocket) => ({ socket: async () => socket, wsUrl: 'ws://parley.test/graphql' });
const send = (sink: Sink, events: RunEvent[]) => events.forEach((e) => sink.next({ data: { runEvents: e } }));
const drop = (sink: Sink, code = 1006) => sink.error({ code, reason: '', wasClean: false });
const NO_WAIT = { baseDelayMs: 0, maxDelayMs: 0 };

async function read(stream: AsyncIterable<RunEvent>): Promise<{ events: RunEvent[]; error?: unknown }> {
  const events: RunEvent[] = [];
  try {
    for await (const e of stream) events.push(e);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

const seqs = (events: RunEvent[]) => events.map((e) => e.seq);
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('RunStream', () => {
  const all = EventScript.answer(['one ', 'two ', 'three ', 'four ', 'five.']).events;
  const n = all.length;

  it('yields every event in order and ends after the terminal one', async () => {
    const socket = new FakeSocket((sink) => {
      send(sink, all);
      sink.complete();
    });
    const stream = new RunStream(ctx(socket), 'run-1');
    const { events, error } = await read(stream);
    expect(error).toBeUndefined();
    expect(seqs(events)).toEqual(oneTo(n));
    expect(stream.done).toBe(true);
    expect(stream.snapshot().text).toBe('one two three four five.');
    expect(socket.afters).toEqual([0]);
    expect(socket.unsubscribed).toBe(1);
  });

  it('resubscribes after a dropped socket from the last seq it yielded: nothing lost, nothing twice', async () => {
    const socket = new FakeSocket(
      (sink) => {
        send(sink, all.slice(0, 4));
        drop(sink);
      },
      // The server replays from the seq asked for; a replay that overlaps is skipped too.
      (sink, after) => {
        send(sink, all.slice(after - 2, 7));
        drop(sink, 1001);
      },
      (sink, after) => {
        send(sink, all.slice(after));
        sink.complete();
      },
    );
    const stream = new RunStream(ctx(socket), 'run-1', { retry: NO_WAIT });
    const { events, error } = await read(stream);
    expect(error).toBeUndefined();
    expect(seqs(events)).toEqual(oneTo(n));
    expect(socket.afters).toEqual([0, 4, 7]);
    expect(socket.unsubscribed).toBe(3);
    expect(stream.snapshot()).toMatchObject({ text: 'one two three four five.', done: true, lastSeq: n });
  });

  it('skips the replay graphql-ws sends after resubscribing by itself on a clean close', async () => {
    const socket = new FakeSocket((sink) => {
      send(sink, all.slice(0, 5));
      send(sink, all); // the same subscription, replayed from after=0
      sink.complete();
    });
    const { events } = await read(new RunStream(ctx(socket), 'run-1'));
    expect(seqs(events)).toEqual(oneTo(n));
  });

  it('starts after `after` and resubscribes when the server completes before the terminal event', async () => {
    const socket = new FakeSocket(
      (sink, after) => {
        send(sink, all.slice(after, 6));
        sink.complete();
      },
      (sink, after) => {
        send(sink, all.slice(after));
        sink.complete();
      },
    );
    const { events } = await read(new RunStream(ctx(socket), 'run-1', { after: 3, retry: NO_WAIT }));
    expect(seqs(events)).toEqual(oneTo(n).slice(3));
    expect(socket.afters).toEqual([3, 6]);
  });

  it('surfaces EVENTS_LOST as a typed error with lastSafeSeq, runId and lastSeq; no retry', async () => {
    const socket = new FakeSocket((sink) => {
      send(sink, all.slice(0, 3));
      sink.error([{ message: 'The event log of run run-1 was lost', extensions: { code: 'EVENTS_LOST', runId: 'run-1', lastSafeSeq: 3 } }]);
    });
    const { events, error } = await read(new RunStream(ctx(socket), 'run-1'));
    expect(seqs(events)).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(ParleyError);
    expect(isParleyError(error, 'EVENTS_LOST')).toBe(true);
    expect(error).toMatchObject({ code: 'EVENTS_LOST', lastSafeSeq: 3, runId: 'run-1', lastSeq: 3 });
    expect(socket.afters).toEqual([0]);
  });

  it('surfaces errors in a result and refused credentials without retrying', async () => {
    const inResult = new FakeSocket((sink) => sink.next({ data: null, errors: [{ message: 'Run not found', extensions: { code: 'NOT_FOUND' } }] }));
    expect((await read(new RunStream(ctx(inResult), 'run-1'))).error).toMatchObject({ code: 'NOT_FOUND', runId: 'run-1', lastSeq: 0 });

    const refused = new FakeSocket((sink) => sink.error({ code: 4403, reason: 'Forbidden' }));
    const { error } = await read(new RunStream(ctx(refused), 'run-1'));
    expect(error).toMatchObject({ code: 'UNAUTHENTICATED', closeCode: 4403 });
    expect(refused.afters).toEqual([0]);
  });

  it('gives up after maxAttempts reconnects in a row with CONNECTION_CLOSED, counting only attempts without progress', async () => {
    const socket = new FakeSocket(
      (sink) => {
        send(sink, all.slice(0, 2));
        drop(sink);
      },
      (sink) => drop(sink),
      (sink, after) => {
        send(sink, all.slice(after, 3)); // progress: the count starts again
        drop(sink);
      },
      (sink) => drop(sink),
      (sink) => sink.error(new Error('connect ECONNREFUSED')),
    );
    const stream = new RunStream(ctx(socket), 'run-1', { retry: { ...NO_WAIT, maxAttempts: 2 } });
    const { events, error } = await read(stream);
    expect(seqs(events)).toEqual([1, 2, 3]);
    expect(socket.afters).toEqual([0, 2, 2, 3, 3]);
    expect(error).toMatchObject({ code: 'NETWORK_ERROR', runId: 'run-1', lastSeq: 3 });
    expect((error as Error).message).toMatch(/ECONNREFUSED after 2 reconnects/);

    const never = new FakeSocket((sink) => drop(sink));
    const once = await read(new RunStream(ctx(never), 'run-1', { retry: false }));
    expect(once.error).toMatchObject({ code: 'CONNECTION_CLOSED', closeCode: 1006 });
  });

  it('refuses a gap in seq rather than hiding it', async () => {
    const socket = new FakeSocket((sink) => send(sink, [all[0], all[2]]));
    const { events, error } = await read(new RunStream(ctx(socket), 'run-1'));
    expect(seqs(events)).toEqual([1]);
    expect(error).toMatchObject({ code: 'EVENTS_OUT_OF_ORDER', lastSeq: 1 });
  });

  it('ends with the abort reason when its signal aborts, and unsubscribes', async () => {
    const socket = new FakeSocket((sink) => send(sink, all.slice(0, 3)));
    const controller = new AbortController();
    const stream = new RunStream(ctx(socket), 'run-1', { signal: controller.signal });
    const seen: number[] = [];
    const outcome = (async () => {
      for await (const e of stream) {
        seen.push(e.seq);
        if (e.seq === 3) controller.abort();
      }
    })();
    await expect(outcome).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([1, 2, 3]);
    expect(socket.unsubscribed).toBe(1);
  });

  it('unsubscribes when the reader breaks out, and is read only once', async () => {
    const socket = new FakeSocket((sink) => send(sink, all));
    const stream = new RunStream(ctx(socket), 'run-1');
    for await (const e of stream) if (e.seq === 2) break;
    expect(socket.unsubscribed).toBe(1);
    expect(() => stream[Symbol.asyncIterator]()).toThrow(/already being read/);
  });

  it('offers the text alone, and the final message', async () => {
    const texts: string[] = [];
    for await (const t of new RunStream(ctx(new FakeSocket((sink) => send(sink, all))), 'run-1').textDeltas()) texts.push(t);
    expect(texts).toEqual(['one ', 'two ', 'three ', 'four ', 'five.']);

    const final = await new RunStream(ctx(new FakeSocket((sink) => send(sink, all))), 'run-1').finalMessage();
    expect(final).toMatchObject({ text: 'one two three four five.', status: 'COMPLETED', done: true });
  });
});
