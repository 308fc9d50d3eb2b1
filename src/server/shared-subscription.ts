import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Context } from './context';
import { releaseRequestState } from './context-factory';
import { compileFixedShape, NOT_FIXED, type FixedShape } from './fixed-shape';
import { withDeadline } from './operation-deadline';
import type { SocketWriter } from './socket-writer';

/**
 * How subscription events reach graphql-ws clients.
 *
 * Run events do not depend on who watches (the run was authorized when the
 * subscription was set up), so subscriptions with the same operation share
 * one result per event: computed once — by the operation's fixed-shape plan
 * when it has one (server/fixed-shape.ts), else by graphql-js `execute` —
 * and serialized once. Every subscription then writes its frame (its id
 * around the shared payload) straight to its socket's writer, which flushes
 * each socket at most once per turn of the event loop.
 *
 * graphql-ws still owns each operation's life: it is handed an iterator
 * whose one `next()` settles when the stream ends (done: graphql-ws sends
 * `complete`; rejected: it sends `error`), and whose `return()` (the client
 * completing, the socket closing, a revoked credential) stops the
 * subscription's source at once.
 */

/** Where one subscription's frames go. */
export interface Sink {
  writer: SocketWriter;
  id: string;
}

/** graphql-js `execute`, as given (with its deadline) by the caller. */
type Execute = (args: ExecutionArgs) => Promise<ExecutionResult> | ExecutionResult;

/** What a subscriber sends for one event: the formatted result as JSON. */
type FormatResult = (result: ExecutionResult) => unknown;

export interface DeliveryOptions {
  timeoutMs: number | undefined;
  /** Maps a result's errors the way every other result is mapped (the transport's onNext). */
  formatResult: FormatResult;
}

/** Results kept per shared operation, by seq: enough for subscribers that fell behind the others. */
const KEPT_PER_OPERATION = 2048;

interface Kept {
  /** Together with `seq` (the key), names the event: a lost and recreated log reuses seqs in another epoch. */
  epoch: string | undefined;
  at: string | undefined;
  payload: Promise<Buffer>;
  /** The payload once computed, for subscribers that come later: no await for them. */
  ready?: Buffer;
}

interface RunEventLike {
  runId: string;
  seq: number;
  epoch?: string;
  at?: string;
}

const isRunEvent = (e: unknown): e is RunEventLike => {
  const r = e as Partial<RunEventLike> | null;
  return !!r && typeof r.runId === 'string' && typeof r.seq === 'number';
};

/** One operation (document, operation name, variables but `after`) and the subscriptions sharing it. */
class SharedOperation {
  refs = 0;
  private readonly kept = new Map<number, Kept>();

  constructor(
    readonly key: string,
    private readonly plan: FixedShape | undefined,
    private readonly run: Execute,
    private readonly timeoutMs: number | undefined,
    private readonly formatResult: FormatResult,
  ) {}

  /** The payload of an event already computed for this operation, if it is. */
  ready(event: unknown): Buffer | undefined {
    if (!isRunEvent(event)) return undefined;
    const hit = this.kept.get(event.seq);
    return hit && hit.epoch === event.epoch && hit.at === event.at ? hit.ready : undefined;
  }

  /** The payload for one event (UTF-8 JSON), computed once for every subscription of this operation. */
  payload(event: unknown, args: ExecutionArgs): Promise<Buffer> {
    if (!isRunEvent(event)) return this.compute(event, args).then((c) => c.json);
    const { seq } = event;
    const hit = this.kept.get(seq);
    if (hit && hit.epoch === event.epoch && hit.at === event.at) return hit.payload;
    if (!hit && this.kept.size >= KEPT_PER_OPERATION) this.kept.delete(this.kept.keys().next().value as number);
    const kept: Kept = { epoch: event.epoch, at: event.at, payload: undefined as unknown as Promise<Buffer> };
    const forget = () => this.kept.get(seq) === kept && this.kept.delete(seq);
    // A result with errors (a deadline, a failed read) is not shared: the next subscriber tries again.
    kept.payload = this.compute(event, args).then(
      (c) => {
        if (c.errors) forget();
        else kept.ready = c.json;
        return c.json;
      },
      (err: unknown) => {
        forget();
        throw err;
      },
    );
    this.kept.set(seq, kept);
    return kept.payload;
  }

  /** The event's result as a subscriber receives it. */
  async result(event: unknown, args: ExecutionArgs): Promise<ExecutionResult> {
    const ctx = args.contextValue as Context;
    try {
      if (this.plan) {
        try {
          return await withDeadline(this.timeoutMs, (a: ExecutionArgs) => this.plan!(event, a.contextValue))(args);
        } catch (err) {
          if (err !== NOT_FIXED) throw err;
        }
      }
      return await this.run({ ...args, rootValue: event });
    } finally {
      // What this event's resolvers loaded is not kept for the next one.
      releaseRequestState(ctx);
    }
  }

  private async compute(event: unknown, args: ExecutionArgs): Promise<{ json: Buffer; errors: boolean }> {
    const result = await this.result(event, args);
    return { json: Buffer.from(JSON.stringify(this.formatResult(result))), errors: !!result.errors };
  }
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** Feeds one subscription's socket from its source, one shared payload per event; see the file comment. */
class Delivery implements AsyncIterableIterator<ExecutionResult> {
  private stopped = false;
  private running: Promise<IteratorResult<ExecutionResult>> | undefined;
  private readonly prefix: Buffer;

  constructor(
    private readonly source: AsyncIterator<unknown>,
    private readonly operation: SharedOperation,
    private readonly args: ExecutionArgs,
    private readonly sink: Sink,
    private readonly release: () => void,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(sink.id)},"type":"next","payload":`);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.stopped) return Promise.resolve(DONE);
    return (this.running ??= this.pump());
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.stop();
    await this.source.return?.();
    return DONE;
  }

  async throw(err: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.return();
    throw err;
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.release();
  }

  private async pump(): Promise<IteratorResult<ExecutionResult>> {
    const { writer } = this.sink;
    try {
      for (;;) {
        const next = await this.source.next();
        if (next.done || this.stopped) return DONE;
        const payload = this.operation.ready(next.value) ?? (await this.operation.payload(next.value, this.args));
        if (this.stopped) return DONE;
        writer.write(this.prefix, payload);
        if (writer.congested) await writer.drained();
      }
    } finally {
      this.stop();
    }
  }
}

/**
 * The iterator graphql-ws gets when a subscription has no socket of its own
 * to write to: each event's (shared) result, yielded for graphql-ws to send.
 */
function yielding(source: AsyncIterator<unknown>, operation: SharedOperation, args: ExecutionArgs, release: () => void): AsyncIterableIterator<ExecutionResult> {
  let released = false;
  const end = () => {
    if (!released) release();
    released = true;
  };
  const it: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => it,
    async next() {
      try {
        const next = await source.next();
        if (next.done) {
          end();
          return DONE;
        }
        return { done: false, value: await operation.result(next.value, args) };
      } catch (err) {
        end();
        throw err;
      }
    },
    async return() {
      end();
      await source.return?.();
      return DONE;
    },
    async throw(err: unknown) {
      end();
      await source.return?.();
      throw err;
    },
  };
  return it;
}

export function createSubscriptionDelivery(schema: GraphQLSchema, opts: DeliveryOptions) {
  const { timeoutMs, formatResult } = opts;
  const run: Execute = withDeadline(timeoutMs, execute);
  const setUp = withDeadline(timeoutMs, (args: ExecutionArgs) => createSourceEventStream(args));
  const sinks = new WeakMap<object, Sink>();
  /** Live shared operations by document (documents are cached by text, so equal texts are one object). */
  const operations = new WeakMap<DocumentNode, Map<string, SharedOperation>>();

  function acquire(args: ExecutionArgs): { operation: SharedOperation; release: () => void } {
    // `after` only moves where a replay starts; it never changes an event's result.
    const { after: _after, ...vars } = (args.variableValues ?? {}) as Record<string, unknown>;
    const key = `${args.operationName ?? ''}\u0000${JSON.stringify(vars)}`;
    let byKey = operations.get(args.document);
    if (!byKey) operations.set(args.document, (byKey = new Map()));
    let operation = byKey.get(key);
    if (!operation) {
      const plan = compileFixedShape(schema, args.document, args.operationName, args.variableValues);
      operation = new SharedOperation(key, plan, run, timeoutMs, formatResult);
      byKey.set(key, operation);
    }
    operation.refs++;
    const shared = operation;
    const map = byKey;
    return {
      operation,
      release: () => {
        if (--shared.refs === 0 && map.get(shared.key) === shared) map.delete(shared.key);
      },
    };
  }

  return {
    /** Tells `subscribe` where the subscription with this context writes its frames (from graphql-ws `context`). */
    bind(contextValue: object, sink: Sink): void {
      sinks.set(contextValue, sink);
    },

    /**
     * graphql-ws `subscribe`: sets the subscription up (authorization and
     * replay position are the resolver's), then delivers its events.
     */
    async subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
      const ctx = args.contextValue as Context;
      const sink = sinks.get(ctx);
      sinks.delete(ctx);
      let source: AsyncIterable<unknown> | ExecutionResult;
      try {
        source = await setUp(args);
      } finally {
        // What the set-up loaded (the run it authorized) is not held for the subscription's life.
        releaseRequestState(ctx);
      }
      if (!(Symbol.asyncIterator in Object(source))) return source as ExecutionResult;
      const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      const { operation, release } = acquire(args);
      return sink ? new Delivery(iterator, operation, args, sink, release) : yielding(iterator, operation, args, release);
    },
  };
}

export type SubscriptionDelivery = ReturnType<typeof createSubscriptionDelivery>;
