import type { ServerResponse } from 'node:http';
import { isObjectType, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from './context';
import { AppError, ErrorCode } from './errors';

/**
 * An operation stops when its deadline passes (PARLEY_OPERATION_TIMEOUT_MS) or
 * its HTTP client goes away. Stopping is one signal on the request's Context
 * and one check at the start of every resolver (`stopOnAbort`): no resolver
 * starts once the signal has fired, so the work ends within the statements
 * already in flight. The timer only fires between I/O waits; a synchronous
 * stretch of execution is what the query cost limit bounds.
 */

export const operationTimeout = (timeoutMs: number) =>
  new AppError(ErrorCode.OPERATION_TIMEOUT, `The operation ran longer than ${timeoutMs} ms and was stopped`, { timeoutMs });

export const operationCancelled = () => new AppError(ErrorCode.OPERATION_CANCELLED, 'The client went away; the operation was stopped');

/**
 * The stop signal of one execution (of one HTTP operation, or of one event of
 * a subscription). Its clock starts with the execution, not with the request:
 * parsing, validation and costing are bounded by the query limits instead.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  readonly signal = this.controller.signal;

  abort(reason: AppError): void {
    this.controller.abort(reason);
  }

  /** `timeoutMs` undefined (PARLEY_GUARDRAILS=off): no clock, only explicit aborts. */
  start(timeoutMs: number | undefined): void {
    if (timeoutMs === undefined || this.timer) return;
    this.timer = setTimeout(() => this.abort(operationTimeout(timeoutMs)), timeoutMs);
  }

  /** The execution is over: the clock goes. */
  end(): void {
    clearTimeout(this.timer);
  }
}

/** The deadline of one HTTP request, which also fires when its client closes the connection before the answer. */
export function httpDeadline(res: ServerResponse): Deadline {
  const deadline = new Deadline();
  res.once('close', () => {
    deadline.end();
    if (!res.writableFinished) deadline.abort(operationCancelled());
  });
  return deadline;
}

/**
 * Wraps `run` (graphql-js execute, or a subscription's setup) so each call gets
 * a deadline of its own on the operation's context: a subscription lives as
 * long as it likes, each of its events has the full time.
 */
export function withDeadline<A extends { contextValue?: unknown }, R>(timeoutMs: number | undefined, run: (args: A) => R | Promise<R>) {
  return async (args: A): Promise<R> => {
    const ctx = args.contextValue as Context;
    const deadline = (ctx.deadline = new Deadline());
    deadline.start(timeoutMs);
    try {
      return await run(args);
    } finally {
      deadline.end();
      logIfStopped(ctx);
    }
  };
}

/**
 * Makes every resolver of the schema refuse to start once its operation's
 * signal has fired. Applied once, when the schema is built: a property check
 * per field, no promise, no plugin hook per field.
 */
export function stopOnAbort(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve;
      if (!resolve) continue;
      field.resolve = (source, args, ctx: Context, info) => {
        const { signal } = ctx.deadline;
        if (signal.aborted) throw signal.reason;
        return resolve(source, args, ctx, info);
      };
    }
  }
  return schema;
}

const STOP_CODES: ReadonlySet<unknown> = new Set([ErrorCode.OPERATION_TIMEOUT, ErrorCode.OPERATION_CANCELLED]);

/**
 * A stopped operation fails in every field it had not started yet; the client
 * hears it once, as an error about the operation (no path), beside any other
 * errors it met.
 */
export function collapseStopErrors(errors: readonly GraphQLFormattedError[]): GraphQLFormattedError[] {
  const stop = errors.find((e) => STOP_CODES.has(e.extensions?.code));
  if (!stop) return [...errors];
  return [...errors.filter((e) => !STOP_CODES.has(e.extensions?.code)), { message: stop.message, extensions: stop.extensions }];
}

function logIfStopped(ctx: Context): void {
  const { signal } = ctx.deadline;
  if (!signal.aborted) return;
  // Logged once the stopped execution has returned: the line also says its work is over.
  const reason = signal.reason as AppError;
  ctx.logger.info({ code: reason.code, ...reason.details }, 'operation stopped');
}

/**
 * Apollo's side: the clock runs from the start of execution to its end; a
 * stopped operation answers one stop error and leaves a log line.
 */
export function deadlinePlugin(timeoutMs: number | undefined): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async executionDidStart({ contextValue }) {
          contextValue.deadline.start(timeoutMs);
          return { executionDidEnd: async () => contextValue.deadline.end() };
        },
        async willSendResponse({ response, contextValue }) {
          if (!contextValue.deadline.signal.aborted) return;
          logIfStopped(contextValue);
          const body = response.body;
          if (body.kind === 'single' && body.singleResult.errors) body.singleResult.errors = collapseStopErrors(body.singleResult.errors);
        },
      };
    },
  };
}
