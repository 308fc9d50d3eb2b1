import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; every request gets a child logger carrying its id. */
export function createLogger(level: string): Logger {
  // SQL values are user data (message text, e-mails): only a debugging operator (debug, trace) sees them.
  const keepSqlValues = level === 'debug' || level === 'trace';
  return pino({
    level,
    base: { service: 'parley' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: keepSqlValues ? {} : { err: redactedError },
  });
}

/**
 * The standard error serializer, with SQL literals and constraint details
 * blanked in every string it produced: driver errors (MikroORM, knex, pg)
 * put the statement with its parameters inlined into their message, and the
 * offending value into `detail` ("Key (email)=(…) already exists").
 */
export function redactedError(err: unknown): unknown {
  return redact(pino.stdSerializers.err(err as Error), 0);
}

function redact(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactSqlValues(value);
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    // Bound parameters some drivers attach beside the statement.
    out[key] = /^(parameters|params|bindings|values)$/i.test(key) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

/** Quoted SQL literals become '?', and a constraint's "(column)=(value)" loses its value. */
export function redactSqlValues(text: string): string {
  return text.replace(/(?:\bE)?'(?:[^']|'')*'/g, "'?'").replace(/(\([^()]*\))=\((?:[^()]|\([^()]*\))*\)/g, '$1=(?)');
}
