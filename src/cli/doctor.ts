import Redis from 'ioredis';
import { ConfigError, type Config } from '../config';
import type { Logger } from '../logger';
import { describeEmbeddedDir } from '../db/embedded';
import { initOrm, pendingMigrations } from '../db/orm';
import { parseProvidersJson, ProviderRegistry } from '../modules/providers/provider-registry';
import { describeStartError, probeTcp, target } from '../process';
import type { Output } from './output';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

const TIMEOUT_MS = 5_000;

/** Rejects after `ms` with a message saying so, leaving `promise` to settle (or not) on its own. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Checks what a start needs (configuration, PostgreSQL, Redis, model
 * providers) without starting anything, and prints one line per check.
 * Exit code 1 when any check fails; warnings do not fail.
 */
export async function doctor(config: Config, logger: Logger, out: Output): Promise<number> {
  const checks: Check[] = [
    { name: 'config', status: 'ok', detail: `valid (NODE_ENV=${config.production ? 'production' : (process.env.NODE_ENV ?? 'development')}, PORT ${config.port})` },
  ];
  const run = async (name: string, fn: () => Promise<Omit<Check, 'name'> | Omit<Check, 'name'>[]>) => {
    try {
      const result = await fn();
      for (const r of Array.isArray(result) ? result : [result]) checks.push({ name, ...r });
    } catch (err) {
      checks.push({ name, status: 'fail', detail: err instanceof ConfigError ? err.message.replace(/\n\s*/g, ' ') : await describeStartError(err, config) });
    }
  };
  await run('postgres', () => checkPostgres(config, logger));
  await run('redis', () => checkRedis(config));
  await run('providers', () => checkProviders(config));
  await run('auth', async () => checkAuth(config));

  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  out.result({ ok: failed === 0, checks }, [
    ...checks.map((c) => `${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(9)}  ${c.detail}`),
    failed ? `${failed} problem${failed > 1 ? 's' : ''} to fix${warned ? `, ${warned} warning${warned > 1 ? 's' : ''}` : ''}` : `no problems${warned ? ` (${warned} warning${warned > 1 ? 's' : ''})` : ''}`,
  ]);
  return failed ? 1 : 0;
}

async function checkPostgres(config: Config, logger: Logger): Promise<Omit<Check, 'name'>[]> {
  if (!config.databaseUrl) {
    const dir = describeEmbeddedDir(config.dataDir);
    const state = dir.heldBy ? `running: ${dir.heldBy}` : dir.initialised ? 'initialised, not running' : 'created on first start';
    if (!dir.binaries) {
      return [{ status: 'fail', detail: 'DATABASE_URL is not set and the embedded PostgreSQL binaries are not installed (production image?); set DATABASE_URL' }];
    }
    return [
      {
        status: config.production ? 'warn' : 'ok',
        detail: `embedded PostgreSQL in ${dir.dir} (${state})${config.production ? '; production wants DATABASE_URL (a managed or separate PostgreSQL)' : ''}`,
      },
    ];
  }
  const t = target(config.databaseUrl, 5432);
  const where = `${t.host}:${t.port}/${t.database ?? 'postgres'}`;
  const orm = await within(initOrm({ clientUrl: config.databaseUrl, poolMax: 1 }), TIMEOUT_MS, `PostgreSQL at ${where}`);
  try {
    const conn = orm.em.getConnection();
    const [row] = await within(conn.execute<{ v: string }[]>("select current_setting('server_version') as v"), TIMEOUT_MS, `PostgreSQL at ${where}`);
    const pending = await pendingMigrations(orm);
    const results: Omit<Check, 'name'>[] = [{ status: 'ok', detail: `${where} answers (PostgreSQL ${row?.v ?? '?'})` }];
    if (pending.length) {
      results.push({
        status: config.migrate ? 'warn' : 'fail',
        detail: `${pending.length} migration${pending.length > 1 ? 's' : ''} pending; ${config.migrate ? 'the next start applies them' : 'PARLEY_MIGRATE=off: run `npx parley migrate`'}`,
      });
    } else {
      results.push({ status: 'ok', detail: 'migrations up to date' });
    }
    return results;
  } catch (err) {
    // A database that does not exist yet is created at the first start, when the user may create databases.
    if ((err as { code?: string }).code === '3D000') return [{ status: 'warn', detail: `${where}: the database does not exist yet; the first start creates it` }];
    throw err;
  } finally {
    await orm.close(true).catch((err: unknown) => logger.debug({ err }, 'closing the doctor connection'));
  }
}

async function checkRedis(config: Config): Promise<Omit<Check, 'name'>[]> {
  if (!config.redisUrl) {
    return [
      {
        status: config.production ? 'warn' : 'ok',
        detail: `REDIS_URL not set: in-process queue and events (one node only)${config.production ? '; production with more than one process needs Redis' : ''}`,
      },
    ];
  }
  const t = target(config.redisUrl, 6379);
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: TIMEOUT_MS });
  redis.on('error', () => undefined); // each failure also rejects the command that met it
  try {
    try {
      await within(redis.connect(), TIMEOUT_MS, `Redis at ${t.host}:${t.port}`);
    } catch (err) {
      const message = (err as Error).message ?? '';
      if (/WRONGPASS|NOAUTH|NOPERM/.test(message)) return [{ status: 'fail', detail: `Redis at ${t.host}:${t.port} (REDIS_URL) refused: ${message}` }];
      return [{ status: 'fail', detail: `cannot reach Redis at ${t.host}:${t.port} (REDIS_URL): ${await probeTcp(t.host, t.port)}` }];
    }
    const info = await within(redis.info('server'), TIMEOUT_MS, 'Redis INFO');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    const results: Omit<Check, 'name'>[] = [{ status: 'ok', detail: `${t.host}:${t.port} answers (Redis ${version})` }];
    if (Number(version.split('.')[0]) < 5) results.push({ status: 'fail', detail: `Redis ${version} is too old: the run queue (BullMQ) needs Redis 5 or later` });
    const policy = await redis.config('GET', 'maxmemory-policy').then(
      (r) => (r as string[])[1],
      () => undefined, // CONFIG may be disabled (managed Redis)
    );
    if (policy && policy !== 'noeviction') {
      results.push({ status: 'warn', detail: `maxmemory-policy is ${policy}: under memory pressure Redis may evict queued runs and event logs; set it to noeviction` });
    }
    return results;
  } finally {
    redis.disconnect();
  }
}

async function checkProviders(config: Config): Promise<Omit<Check, 'name'>[]> {
  // Building the registry validates PARLEY_PROVIDERS and PARLEY_MODELS exactly as a start does.
  const registry = new ProviderRegistry({
    openaiBaseUrl: config.openaiBaseUrl,
    openaiApiKey: config.openaiApiKey,
    providersJson: config.providersJson,
    modelsJson: config.modelsJson,
  });
  const results: Omit<Check, 'name'>[] = [];
  for (const [what, model] of [
    ['PARLEY_DEFAULT_MODEL', config.defaultModel],
    ['PARLEY_SUMMARY_MODEL', config.summaryModel],
  ] as const) {
    if (!model) continue;
    try {
      registry.resolve(model);
    } catch (err) {
      results.push({ status: 'fail', detail: `${what}: ${(err as Error).message}` });
    }
  }
  const endpoints: { name: string; baseUrl: string; apiKey?: string }[] = [];
  if (config.openaiBaseUrl || config.openaiApiKey) endpoints.push({ name: 'openai', baseUrl: config.openaiBaseUrl ?? 'https://api.openai.com/v1', apiKey: config.openaiApiKey });
  const named = config.providersJson?.trim() ? parseProvidersJson(config.providersJson) : {};
  for (const [name, p] of Object.entries(named)) {
    const i = endpoints.findIndex((e) => e.name === name);
    if (i >= 0) endpoints.splice(i, 1);
    endpoints.push({ name, baseUrl: p.baseUrl, apiKey: p.apiKey });
  }
  if (!endpoints.length) {
    results.push({
      status: config.production ? 'warn' : 'ok',
      detail: 'only the offline demo model: set OPENAI_API_KEY (and/or OPENAI_BASE_URL) or PARLEY_PROVIDERS to reach real models',
    });
  }
  for (const e of endpoints) results.push(await checkEndpoint(e));
  return results;
}

/** GET <baseUrl>/models: the one request every OpenAI-compatible server answers, and it checks the key. */
async function checkEndpoint(e: { name: string; baseUrl: string; apiKey?: string }): Promise<Omit<Check, 'name'>> {
  const url = `${e.baseUrl.replace(/\/+$/, '')}/models`;
  const host = new URL(url).host;
  try {
    const res = await fetch(url, { headers: e.apiKey ? { authorization: `Bearer ${e.apiKey}` } : {}, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (res.status === 401 || res.status === 403) return { status: 'fail', detail: `${e.name} (${host}) refuses the API key (HTTP ${res.status})` };
    if (res.ok) {
      const body = (await res.json().catch(() => undefined)) as { data?: unknown[] } | undefined;
      return { status: 'ok', detail: `${e.name} (${host}) answers${Array.isArray(body?.data) ? `, ${body.data.length} models listed` : ''}` };
    }
    // Some compatible servers list no models; the endpoint still answered.
    return { status: 'warn', detail: `${e.name} (${host}) answers GET /models with HTTP ${res.status}` };
  } catch (err) {
    const u = new URL(url);
    const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : await probeTcp(u.hostname, Number(u.port) || (u.protocol === 'https:' ? 443 : 80));
    return { status: 'fail', detail: `${e.name} (${host}) cannot be reached: ${reason}` };
  }
}

function checkAuth(config: Config): Omit<Check, 'name'>[] {
  const results: Omit<Check, 'name'>[] = [];
  results.push(
    config.adminKey
      ? { status: 'ok', detail: 'PARLEY_ADMIN_KEY is set (an admin with that key is ensured at boot)' }
      : { status: 'ok', detail: 'PARLEY_ADMIN_KEY not set: the first start on an empty database prints an admin key once' },
  );
  if (config.jwtSecret) results.push({ status: 'ok', detail: `JWT bearer tokens accepted${config.jwtIssuer ? ` (iss ${config.jwtIssuer})` : ''}` });
  return results;
}
