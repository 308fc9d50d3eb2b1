import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { Logger } from '../logger';
import { isEventsLost, isRunEnded, type RunEventLogError } from '../events/run-event.types';

/** Every error a client can see carries one of these in `extensions.code`. */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  RATE_LIMITED = 'RATE_LIMITED',
  CONFLICT = 'CONFLICT',
  /** A finished run's event log is past its retention (or was lost with an in-memory log); read the run instead. */
  EVENTS_EXPIRED = 'EVENTS_EXPIRED',
  /**
   * A run's event stream cannot prove it continues (its log was lost, e.g. Redis restarted without
   * persistence): events up to `extensions.lastSafeSeq` are good; refetch `run(id)` and its message.
   */
  EVENTS_LOST = 'EVENTS_LOST',
  /**
   * The document asks for too much (tokens, depth, aliases, directives or estimated cost) and was
   * refused before running; extensions say which measure and its limit (`cost`/`maxCost`, …).
   */
  QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX',
  /** The operation ran past PARLEY_OPERATION_TIMEOUT_MS (`extensions.timeoutMs`) and was stopped. */
  OPERATION_TIMEOUT = 'OPERATION_TIMEOUT',
  /** The client closed the connection and its operation was stopped; only logs see this one. */
  OPERATION_CANCELLED = 'OPERATION_CANCELLED',
  /** A backing service (Redis) failed mid-request; what was half-done has been undone or ended. Retry. */
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

/**
 * The single application error type. Services throw it; the formatter below
 * is the only place that turns errors into what clients see.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badInput = (field: string, message: string, details: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.BAD_USER_INPUT, `${field}: ${message}`, { field, ...details });

export const notFound = (what: string, id?: string) =>
  new AppError(ErrorCode.NOT_FOUND, id ? `${what} ${id} not found` : `${what} not found`, id ? { id } : {});

export const forbidden = (message = 'You are not allowed to do this') => new AppError(ErrorCode.FORBIDDEN, message);

export const unauthenticated = (message = 'Authentication required: send Authorization: Bearer <api key or JWT>') =>
  new AppError(ErrorCode.UNAUTHENTICATED, message);

export const conflict = (message: string, details: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.CONFLICT, message, details);

/** Codes that GraphQL itself (parse/validate/coerce) raises, mapped to ours. */
const graphqlCodes = {
  GRAPHQL_PARSE_FAILED: ErrorCode.BAD_USER_INPUT,
  GRAPHQL_VALIDATION_FAILED: ErrorCode.BAD_USER_INPUT,
  BAD_USER_INPUT: ErrorCode.BAD_USER_INPUT,
  BAD_REQUEST: ErrorCode.BAD_USER_INPUT,
  PERSISTED_QUERY_NOT_FOUND: ErrorCode.BAD_USER_INPUT,
  PERSISTED_QUERY_NOT_SUPPORTED: ErrorCode.BAD_USER_INPUT,
  OPERATION_RESOLUTION_FAILURE: ErrorCode.BAD_USER_INPUT,
  UNAUTHENTICATED: ErrorCode.UNAUTHENTICATED,
  FORBIDDEN: ErrorCode.FORBIDDEN,
  RATE_LIMITED: ErrorCode.RATE_LIMITED,
  INTERNAL_SERVER_ERROR: ErrorCode.INTERNAL_SERVER_ERROR,
} satisfies Record<string, ErrorCode>;

/**
 * graphql-js stops parsing at `maxTokens` with a plain syntax error ("Document contains more that
 * N tokens"); its message is the only sign that the document was too large rather than malformed.
 */
const TOKEN_LIMIT = /Document contains more th(?:an|at) (\d+) tokens/;

/** Postgres SQLSTATEs that mean the client asked for something impossible. */
function fromDriverError(err: unknown): AppError | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  switch (code) {
    case '23505':
      return conflict('This would duplicate an existing record');
    case '22P02':
      return new AppError(ErrorCode.BAD_USER_INPUT, 'Malformed identifier or value');
    case '23503':
      // Something the request refers to was deleted while it ran (a message of a conversation being deleted).
      return new AppError(ErrorCode.NOT_FOUND, 'Something this request refers to no longer exists');
    case '22001':
      return new AppError(ErrorCode.BAD_USER_INPUT, 'A value is longer than its field allows');
    case '22021':
    case '22P05':
      return new AppError(ErrorCode.BAD_USER_INPUT, 'A value contains a character that cannot be stored (U+0000)');
    case '40001':
    case '40P01':
      return conflict('Concurrent update, retry the request');
    default:
      return undefined;
  }
}

export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (cause instanceof AppError) return cause;
  // A refusal raised in validation or before execution (query limits) travels as a GraphQLError around it.
  if (err instanceof GraphQLError && err.originalError instanceof AppError) return err.originalError;
  // A run event stream that broke mid-subscription reaches graphql-ws wrapped in a GraphQLError.
  const lost = [err, cause, err instanceof GraphQLError ? err.originalError : undefined].find(isEventsLost);
  if (lost) return new AppError(ErrorCode.EVENTS_LOST, lost.message, { runId: lost.runId, lastSafeSeq: lost.lastSafeSeq });
  // A command that lost a race with the run's end (e.g. tool outputs submitted while it was being cancelled).
  if (isRunEnded(err)) {
    const { runId } = err as RunEventLogError;
    return conflict(`Run ${runId} has already ended`, { runId });
  }
  return fromDriverError(err) ?? fromDriverError(cause);
}

/**
 * Apollo's `formatError` and graphql-ws's error hook both land here: known
 * errors keep their message and code, everything else is logged and masked.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const app = toAppError(original);
    if (app) {
      return {
        message: app.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: app.code, ...app.details },
      };
    }
    const given = formatted.extensions?.code;
    const tokens = given === 'GRAPHQL_PARSE_FAILED' ? TOKEN_LIMIT.exec(formatted.message) : null;
    if (tokens) {
      const maxTokens = Number(tokens[1]);
      return { message: `The document has more than ${maxTokens} tokens`, extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, maxTokens } };
    }
    if (typeof given === 'string' && given in graphqlCodes && given !== 'INTERNAL_SERVER_ERROR') {
      const code = graphqlCodes[given as keyof typeof graphqlCodes];
      return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code } };
    }
    // Argument validation errors from type-graphql and graphql-js coercion arrive without a code.
    if (original instanceof GraphQLError && !original.originalError && !formatted.path) {
      return { message: formatted.message, locations: formatted.locations, extensions: { code: ErrorCode.BAD_USER_INPUT } };
    }
    logger.error({ err: original, path: formatted.path }, 'unhandled error');
    return {
      message: 'Internal server error',
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
