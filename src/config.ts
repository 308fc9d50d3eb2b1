import { z } from 'zod';

/**
 * Configuration comes from the environment only, validated once at boot so a
 * bad value fails loudly with the variable's name instead of deep in a driver.
 */
const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine(
      (v) => {
        if (v === undefined) return true;
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      },
      { message: `must be a URL starting with ${protocols.join(' or ')}//` },
    );

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: optionalUrl(['postgres:', 'postgresql:']),
  REDIS_URL: optionalUrl(['redis:', 'rediss:']),
  REDIS_PREFIX: z.string().default('parley:'),
  OPENAI_BASE_URL: optionalUrl(['http:', 'https:']),
  OPENAI_API_KEY: z.string().optional(),
  PARLEY_PROVIDERS: z.string().optional(),
  PARLEY_MODELS: z.string().optional(),
  PARLEY_DEFAULT_MODEL: z.string().optional(),
  PARLEY_SUMMARY_MODEL: z.string().min(1).default('demo/demo'),
  PARLEY_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  PARLEY_DATA_DIR: z.string().default('.data'),
  PARLEY_WORKER: z.enum(['inline', 'off']).default('inline'),
  PARLEY_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(100),
  PARLEY_JOB_LOCK_MS: z.coerce.number().int().min(500).default(30_000),
  PARLEY_MAX_STEPS: z.coerce.number().int().min(1).max(100).default(10),
  PARLEY_DEMO_TOKEN_DELAY_MS: z.coerce.number().int().min(0).max(5000).default(20),
  PARLEY_RUN_EVENT_RETENTION_S: z.coerce.number().int().min(1).default(86_400),
  PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  PARLEY_MAX_ACTIVE_RUNS_PER_USER: z.coerce.number().int().min(1).default(20),
  PARLEY_TOOL_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().default('development'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  port: number;
  host: string;
  databaseUrl?: string;
  redisUrl?: string;
  redisPrefix: string;
  openaiBaseUrl?: string;
  openaiApiKey?: string;
  providersJson?: string;
  modelsJson?: string;
  defaultModel?: string;
  /** Model that writes context summaries and merge summaries (a cheaper one is fine). */
  summaryModel: string;
  adminKey?: string;
  jwtSecret?: string;
  dataDir: string;
  worker: 'inline' | 'off';
  workerConcurrency: number;
  jobLockMs: number;
  maxSteps: number;
  demoTokenDelayMs: number;
  runEventRetentionSeconds: number;
  toolTimeoutMs: number;
  runsPerMinute: number;
  /** Runs one user may have queued or in progress at once; past it a start is refused (RATE_LIMITED). */
  maxActiveRunsPerUser: number;
  logLevel: Env['LOG_LEVEL'];
  production: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (`PARLEY_ADMIN_KEY=` in an .env file) means "not set", as in most twelve-factor tools.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(set);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    openaiBaseUrl: e.OPENAI_BASE_URL,
    openaiApiKey: e.OPENAI_API_KEY,
    providersJson: e.PARLEY_PROVIDERS,
    modelsJson: e.PARLEY_MODELS,
    defaultModel: e.PARLEY_DEFAULT_MODEL,
    summaryModel: e.PARLEY_SUMMARY_MODEL,
    adminKey: e.PARLEY_ADMIN_KEY,
    jwtSecret: e.JWT_SECRET,
    dataDir: e.PARLEY_DATA_DIR,
    worker: e.PARLEY_WORKER,
    workerConcurrency: e.PARLEY_WORKER_CONCURRENCY,
    jobLockMs: e.PARLEY_JOB_LOCK_MS,
    maxSteps: e.PARLEY_MAX_STEPS,
    demoTokenDelayMs: e.PARLEY_DEMO_TOKEN_DELAY_MS,
    runEventRetentionSeconds: e.PARLEY_RUN_EVENT_RETENTION_S,
    toolTimeoutMs: e.PARLEY_TOOL_TIMEOUT_MS,
    runsPerMinute: e.PARLEY_RATE_LIMIT_RUNS_PER_MINUTE,
    maxActiveRunsPerUser: e.PARLEY_MAX_ACTIVE_RUNS_PER_USER,
    logLevel: e.LOG_LEVEL,
    production: e.NODE_ENV === 'production',
  };
}
