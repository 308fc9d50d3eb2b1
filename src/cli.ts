#!/usr/bin/env node
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './logger';
import { migrate, pendingMigrations } from './db/orm';
import { AppError } from './server/errors';
import { describeStartError } from './process';
import { openDatabase } from './cli/database';
import { doctor } from './cli/doctor';
import { createKey, createUser, generateKey, listKeys, revokeKey } from './cli/users';
import { CliError, createOutput, type Output } from './cli/output';

const HELP = `Usage: parley <command> [options]     (npx parley …, or npm run parley -- …)

Commands:
  start                         run an API node (as npm start)
  worker                        run a worker process (as npm run worker)
  migrate [--check]             apply pending database migrations and exit (--check: only list them; exit 1 if any)
  create-user --email <e-mail> [--role member|admin]
                                create a user and print its first API key
  create-key --user <e-mail|id> [--name <label>]
                                create another API key for a user
  list-keys --user <e-mail|id>  list a user's API keys (ids, prefixes, revoked or not)
  revoke-key <key id | pk_…>    revoke an API key
  generate-key                  print a new random key, e.g. for PARLEY_ADMIN_KEY (nothing is stored)
  doctor                        check the configuration, PostgreSQL, Redis and model providers

Options: --json (machine-readable output), -h/--help.
Configuration comes from the same environment variables as the server (DATABASE_URL, REDIS_URL, …);
without DATABASE_URL the commands use the embedded PostgreSQL in PARLEY_DATA_DIR, shared with a running npm start.
`;

const OPTIONS = {
  email: { type: 'string' },
  role: { type: 'string' },
  user: { type: 'string' },
  name: { type: 'string' },
  check: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${HELP}`, 2);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  const out = createOutput(Boolean(values.json));
  if (!command || values.help || command === 'help') {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 2;
  }
  // These run the entry points themselves, which load their configuration and never return.
  if (command === 'start') return (await import('./main.js'), -1);
  if (command === 'worker') return (await import('./worker.js'), -1);
  if (command === 'generate-key') {
    generateKey(out);
    return 0;
  }

  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (command === 'doctor') {
      out.result({ ok: false, checks: [{ name: 'config', status: 'fail', detail: err.message }] }, [`FAIL  config     ${err.message.replace(/\n/g, '\n      ')}`]);
      return 1;
    }
    throw new CliError(err.message, 2);
  }
  // Progress and warnings go to stderr, so stdout holds only the result; LOG_LEVEL=debug shows everything.
  const level = config.logLevel === 'debug' || config.logLevel === 'trace' ? config.logLevel : 'warn';
  const logger = createLogger(level, { destination: process.stderr, pretty: Boolean(process.stderr.isTTY) });
  try {
    return await run(command, rest, values, config, logger, out);
  } catch (err) {
    if (err instanceof CliError || err instanceof AppError) throw err;
    if (level === 'debug' || level === 'trace') console.error(err);
    throw new CliError((await describeStartError(err, config)).replace(/^Parley could not start: /, ''));
  }
}

type Values = { email?: string; role?: string; user?: string; name?: string; check?: boolean };

async function run(command: string, rest: string[], values: Values, config: Config, logger: Logger, out: Output): Promise<number> {
  switch (command) {
    case 'migrate':
      return migrateCommand(config, logger, out, Boolean(values.check));
    case 'create-user':
      await createUser(config, logger, out, { email: values.email ?? rest[0], role: values.role });
      return 0;
    case 'create-key':
      await createKey(config, logger, out, { user: values.user ?? rest[0], name: values.name });
      return 0;
    case 'list-keys':
      await listKeys(config, logger, out, { user: values.user ?? rest[0] });
      return 0;
    case 'revoke-key':
      await revokeKey(config, logger, out, rest[0]);
      return 0;
    case 'doctor':
      return doctor(config, logger, out);
    default:
      throw new CliError(`unknown command "${command}"\n${HELP}`, 2);
  }
}

/** `npm run migrate`: the deploy step that applies migrations before new processes start (PARLEY_MIGRATE=off on them). */
async function migrateCommand(config: Config, logger: Logger, out: Output, check: boolean): Promise<number> {
  const db = await openDatabase(config, logger);
  try {
    if (check) {
      const pending = await pendingMigrations(db.orm);
      out.result({ database: db.where, pending }, pending.length ? [`${db.where}: ${pending.length} pending:`, ...pending.map((m) => `  ${m}`)] : [`${db.where}: migrations up to date`]);
      return pending.length ? 1 : 0;
    }
    const applied = await migrate(db.orm, { onWait: () => process.stderr.write('waiting for another process to finish migrating…\n') });
    out.result(
      { database: db.where, applied },
      applied.length ? [`${db.where}: applied ${applied.length} migration${applied.length > 1 ? 's' : ''}:`, ...applied.map((m) => `  ${m}`)] : [`${db.where}: migrations up to date`],
    );
    return 0;
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // -1: an entry point (start, worker) now owns the process.
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(err instanceof CliError ? err.exitCode : 1);
  },
);
