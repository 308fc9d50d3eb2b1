import {
  createSourceEventStream,
  execute,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';

/**
 * graphql-js executes every subscription event once per subscriber. Run
 * events do not depend on who watches (the run was authorized at subscribe
 * time), so subscribers with the same operation share one execution per
 * event: with 100 subscribers of one run, one execution instead of 100.
 */
const MAX_CACHED = 20_000;
const results = new Map<string, Promise<ExecutionResult>>();
const documentKeys = new WeakMap<DocumentNode, string>();

function operationKey(args: ExecutionArgs): string {
  let doc = documentKeys.get(args.document);
  if (doc === undefined) {
    doc = print(args.document);
    documentKeys.set(args.document, doc);
  }
  // `after` only moves where a replay starts; it never changes an event's result.
  const { after: _after, ...vars } = (args.variableValues ?? {}) as Record<string, unknown>;
  return `${args.operationName ?? ''}\u0000${doc}\u0000${JSON.stringify(vars)}`;
}

/** A run event carries its run id and its gap-free position: together they name it. */
function eventKey(payload: unknown): string | undefined {
  const e = payload as { runId?: unknown; seq?: unknown } | null;
  return e && typeof e.runId === 'string' && typeof e.seq === 'number' ? `${e.runId}:${e.seq}` : undefined;
}

type Execute = (args: ExecutionArgs) => Promise<ExecutionResult> | ExecutionResult;

async function executeShared(args: ExecutionArgs, opKey: string, payload: unknown, run: Execute): Promise<ExecutionResult> {
  const ek = eventKey(payload);
  if (!ek) return run({ ...args, rootValue: payload });
  const key = `${ek}\u0000${opKey}`;
  const hit = results.get(key);
  if (hit) return hit;
  // The promise is shared, so subscribers that receive the event at the same moment wait for one execution.
  const pending = Promise.resolve(run({ ...args, rootValue: payload }));
  if (results.size >= MAX_CACHED) results.delete(results.keys().next().value as string);
  results.set(key, pending);
  const result = await pending;
  if (result.errors) results.delete(key);
  return result;
}

/**
 * Drop-in for graphql-js `subscribe`, given to graphql-ws; `run` executes each
 * event (graphql-js `execute` by default). A hand-written iterator rather than
 * an async generator: `return()` must release the source at once, even while
 * a `next()` is waiting for an event that may never come.
 */
export async function sharedSubscribe(
  args: ExecutionArgs,
  run: Execute = execute,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in Object(source))) return source as ExecutionResult;
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const opKey = operationKey(args);
  const done = { done: true as const, value: undefined };
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => mapped,
    async next() {
      const next = await iterator.next();
      if (next.done) return done;
      return { done: false, value: await executeShared(args, opKey, next.value, run) };
    },
    async return() {
      await iterator.return?.();
      return done;
    },
    async throw(err: unknown) {
      await iterator.return?.();
      throw err;
    },
  };
  return mapped;
}
