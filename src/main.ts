import 'reflect-metadata';
import { createLogger } from './logger';
import { startParley } from './server/app';
import { exitOnCrash, exitOnSignals, loadConfigOrExit } from './process';

/** `npm start`: an API node (and, unless PARLEY_WORKER=off, a run worker). */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  const app = await startParley(config, { logger });
  if (app.bootstrapAdminKey) {
    // Printed once, on the first start of an empty database; only its hash is stored.
    process.stdout.write(
      `\n  Parley created an admin user. Its API key (shown once, store it now):\n\n    ${app.bootstrapAdminKey}\n\n` +
        `  Try: curl -s ${app.url} -H 'content-type: application/json' -H 'authorization: Bearer ${app.bootstrapAdminKey}' -d '{"query":"{ viewer { email role } }"}'\n\n`,
    );
  }
  exitOnSignals(logger, app.stop);
}

main().catch(exitOnCrash);
