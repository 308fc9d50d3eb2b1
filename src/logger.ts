import pino, { type DestinationStream, type Logger } from 'pino';
import { currentRequestId } from './observability/request-scope';
import { prettyStream } from './observability/pretty';

export type { Logger };

export interface LoggerOptions {
  /** Human-readable lines instead of JSON; default: stdout is a terminal and NODE_ENV is not production. */
  pretty?: boolean;
  /** Where lines go (tests capture them); default stdout. */
  destination?: DestinationStream;
}

/**
 * Where a credential can sit in what Parley logs: headers, graphql-ws
 * connection parameters, configuration objects. The value is replaced, the
 * key kept, so a line still says that one was there.
 */
export const REDACTED_PATHS = [
  'authorization',
  'Authorization',
  'cookie',
  'connectionParams',
  'apiKey',
  'openaiApiKey',
  'adminKey',
  'jwtSecret',
  'providersJson',
  'token',
  'jwt',
  'password',
  'secret',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'config.openaiApiKey',
  'config.adminKey',
  'config.jwtSecret',
  'config.providersJson',
  'config.databaseUrl',
  'config.redisUrl',
  'extra.authorization',
  'extra.connectionParams',
  'ctx.connectionParams',
  'ctx.extra.authorization',
];
const REDACT = {
  paths: [...REDACTED_PATHS, ...REDACTED_PATHS.filter((p) => !p.includes('.')).map((p) => `*.${p}`)],
  censor: '[redacted]',
};

/**
 * Structured logs: JSON lines, or readable lines in a terminal outside
 * production. Every line logged while serving a request (or executing the
 * run it started) carries its `requestId`, even from code that only holds the
 * root logger; request handlers also get a child logger bound to it.
 */
export function createLogger(level: string, opts: LoggerOptions = {}): Logger {
  // SQL values are user data (message text, e-mails): only a debugging operator (debug, trace) sees them.
  const keepSqlValues = level === 'debug' || level === 'trace';
  const pretty = opts.pretty ?? prettyByDefault(process.stdout, process.env);
  const out = opts.destination ?? (pretty ? process.stdout : undefined);
  const destination = out && pretty ? prettyStream(out) : out;
  const options = {
    level,
    base: { service: 'parley' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: REDACT,
    serializers: { err: keepSqlValues ? maskedError : redactedError },
    mixin: requestIdMixin,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Readable lines for a person at a terminal; JSON for pipes, files, log shippers and production. */
export function prettyByDefault(stdout: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stdout.isTTY) && env.NODE_ENV !== 'production';
}

/** The request id of the current async flow, unless the line or its logger already names one. */
function requestIdMixin(mergeObject: object, _level: number, logger: Logger): Record<string, unknown> {
  const requestId = currentRequestId();
  if (!requestId || 'requestId' in mergeObject) return {};
  const bindings = (logger as unknown as Record<symbol, string | undefined>)[pino.symbols.chindingsSym];
  return bindings?.includes('"requestId":') ? {} : { requestId };
}

/**
 * The standard error serializer, with SQL literals and constraint details
 * blanked in every string it produced: driver errors (MikroORM, knex, pg)
 * put the statement with its parameters inlined into their message, and the
 * offending value into `detail` ("Key (email)=(…) already exists"). Anything
 * shaped like a credential is masked as well.
 */
export function redactedError(err: unknown): unknown {
  return redact(pino.stdSerializers.err(err as Error), 0, (s) => maskCredentials(redactSqlValues(s)));
}

/** At debug level SQL values stay (the operator asked for them); credentials never do. */
function maskedError(err: unknown): unknown {
  return redact(pino.stdSerializers.err(err as Error), 0, maskCredentials);
}

function redact(value: unknown, depth: number, clean: (s: string) => string): unknown {
  if (typeof value === 'string') return clean(value);
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, clean));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    // Bound parameters some drivers attach beside the statement, and headers an HTTP client error may carry.
    out[key] = /^(parameters|params|bindings|values|headers|authorization|apiKey)$/i.test(key) ? '[redacted]' : redact(v, depth + 1, clean);
  }
  return out;
}

/** Quoted SQL literals become '?', and a constraint's "(column)=(value)" loses its value. */
export function redactSqlValues(text: string): string {
  return text.replace(/(?:\bE)?'(?:[^']|'')*'/g, "'?'").replace(/(\([^()]*\))=\((?:[^()]|\([^()]*\))*\)/g, '$1=(?)');
}

/**
 * Bearer and Basic credentials, Parley API keys (`pk_…`), OpenAI-style keys
 * (`sk-…` and kin) and JWTs, wherever they appear in a string.
 */
export function maskCredentials(text: string): string {
  return text
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 ***')
    .replace(/\bpk_[A-Za-z0-9_-]{6,}/g, 'pk_***')
    .replace(/\b(sk|rk|gsk|xai)-[A-Za-z0-9_.-]{6,}/g, '$1-***')
    .replace(/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, 'eyJ***');
}
