import { ConfigError, loadConfig, type Config } from './config';
import type { Logger } from './logger';

/** Entry points share this: a bad environment ends the process with the message that names the variable. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * SIGINT/SIGTERM run `stop` once (drain, close sockets and pools) and exit 0;
 * a shutdown that hangs is cut off after 15 s with exit 1.
 */
export function exitOnSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), 15_000).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

export function exitOnCrash(err: unknown): never {
  console.error(err);
  process.exit(1);
}
