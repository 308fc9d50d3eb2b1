import 'reflect-metadata';
import type { Config } from './config';
import { createLogger } from './logger';
import { startParley } from './server/app';
import { assertEmbeddedDirFree } from './db/embedded';
import { assertPortFree, exitOnSignals, exitOnStartFailure, loadConfigOrExit } from './process';

/** `npm start`: an API node (and, unless PARLEY_WORKER=off, a run worker). */
async function main(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  if (!config.databaseUrl) assertEmbeddedDirFree(config.dataDir);
  await assertPortFree(config.host, config.port);
  const app = await startParley(config, { logger });
  if (app.bootstrapAdminKey) {
    // Printed once, on the first start of an empty database; only its hash is stored.
    process.stdout.write(
      `\n  Parley created an admin user. Its API key (shown once, store it now):\n\n    ${app.bootstrapAdminKey}\n\n` +
        `  Try: curl -s ${app.url} -H 'content-type: application/json' -H 'authorization: Bearer ${app.bootstrapAdminKey}' -d '{"query":"{ viewer { email role } }"}'\n\n`,
    );
  }
  exitOnSignals(logger, app.stop, config.shutdownTimeoutMs);
}

const config = loadConfigOrExit();
// A failed start ends with one line that says what to fix (src/process.ts), never a stack.
main(config).catch(exitOnStartFailure(config));
