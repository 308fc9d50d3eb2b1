import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; every request gets a child logger carrying its id. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'parley' }, timestamp: pino.stdTimeFunctions.isoTime });
}
