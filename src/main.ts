import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { startParley } from './server/app';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const app = await startParley(config, { logger });
  if (app.bootstrapAdminKey) {
    // Printed once, on the first start of an empty database; only its hash is stored.
    process.stdout.write(
      `\n  Parley created an admin user. Its API key (shown once, store it now):\n\n    ${app.bootstrapAdminKey}\n\n` +
        `  Try: curl -s ${app.url} -H 'content-type: application/json' -H 'authorization: Bearer ${app.bootstrapAdminKey}' -d '{"query":"{ viewer { email role } }"}'\n\n`,
    );
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    app
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
