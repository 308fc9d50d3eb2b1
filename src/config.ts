import { z } from 'zod';
import { observabilityEnv, toObservabilityConfig, type ObservabilityConfig } from './observability/config';

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
  // Read as an API key only with the prefix (src/modules/users/api-key.ts): anything else would be taken for a JWT and never authenticate.
  PARLEY_ADMIN_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^pk_\S{16,}$/.test(v), {
      message: 'must be pk_ followed by at least 16 characters with no spaces, like every Parley API key (without the prefix it is read as a JWT and never authenticates); make one with `npx parley generate-key`',
    }),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  // When set, a JWT must name this issuer (`iss`) and this audience (`aud`); `exp` is always required.
  JWT_ISSUER: z.string().trim().min(1).optional(),
  JWT_AUDIENCE: z.string().trim().min(1).optional(),
  PARLEY_DATA_DIR: z.string().default('.data'),
  PARLEY_WORKER: z.enum(['inline', 'off']).default('inline'),
  // off: this process applies no migrations and refuses to start on a database that lacks some (`npx parley migrate` applies them).
  PARLEY_MIGRATE: z.enum(['on', 'off']).default('on'),
  // How long SIGTERM/SIGINT may take (drain requests and sockets, finish running jobs) before the process exits 1 anyway.
  PARLEY_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(15_000),
  PARLEY_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(100),
  PARLEY_JOB_LOCK_MS: z.coerce.number().int().min(500).default(30_000),
  // Every run ends (src/modules/runs/run-reconciler.ts): execution deadline, paused-run expiry, worker lease.
  PARLEY_RUN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(600_000),
  PARLEY_REQUIRES_ACTION_TTL_S: z.coerce.number().int().min(1).default(3_600),
  PARLEY_RUN_LEASE_MS: z.coerce.number().int().min(400).default(60_000),
  PARLEY_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  PARLEY_DB_RETRY_MS: z.coerce.number().int().min(0).default(30_000),
  PARLEY_MAX_STEPS: z.coerce.number().int().min(1).max(100).default(10),
  PARLEY_DEMO_TOKEN_DELAY_MS: z.coerce.number().int().min(0).max(5000).default(20),
  PARLEY_RUN_EVENT_RETENTION_S: z.coerce.number().int().min(1).default(86_400),
  // Rate limits per minute (src/server/rate-limit.ts); 0 turns one off. Generous, so that normal use never meets them.
  PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: z.coerce.number().int().min(0).default(120),
  PARLEY_RATE_LIMIT_QUERIES_PER_MINUTE: z.coerce.number().int().min(0).default(6_000),
  PARLEY_RATE_LIMIT_MUTATIONS_PER_MINUTE: z.coerce.number().int().min(0).default(1_200),
  PARLEY_RATE_LIMIT_SUBSCRIPTIONS_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  PARLEY_RATE_LIMIT_ANONYMOUS_PER_MINUTE: z.coerce.number().int().min(0).default(300),
  PARLEY_RATE_LIMIT_API_KEY_PER_MINUTE: z.coerce.number().int().min(0).default(0),
  // Failed authentications per IP address; past it every request from that address is refused until the minute ends.
  PARLEY_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).default(30),
  PARLEY_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).default(100),
  PARLEY_MAX_SUBSCRIPTIONS_PER_USER: z.coerce.number().int().min(1).default(200),
  PARLEY_WS_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).default(3_000),
  PARLEY_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(5 * 1024 * 1024),
  // Express `trust proxy`: false (default), true, a hop count, or addresses/subnets ("loopback, 10.0.0.0/8").
  PARLEY_TRUST_PROXY: z
    .string()
    .trim()
    .default('false')
    .transform((v): boolean | number | string => (v === 'false' ? false : v === 'true' ? true : /^\d+$/.test(v) ? Number(v) : v)),
  PARLEY_MAX_ACTIVE_RUNS_PER_USER: z.coerce.number().int().min(1).default(20),
  PARLEY_GUARDRAILS: z.enum(['on', 'off']).default('on'),
  PARLEY_TOOL_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
  // Query guardrails (src/server/query-limits.ts). The defaults leave the SDK's operations and
  // introspection several times the room they need (test/unit/query-limits.test.ts checks them).
  PARLEY_MAX_QUERY_TOKENS: z.coerce.number().int().min(100).default(5_000),
  PARLEY_MAX_QUERY_DEPTH: z.coerce.number().int().min(2).default(15),
  PARLEY_MAX_ALIASES: z.coerce.number().int().min(0).default(30),
  PARLEY_MAX_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  PARLEY_MAX_QUERY_COST: z.coerce.number().int().min(1).default(50_000),
  PARLEY_OPERATION_TIMEOUT_MS: z.coerce.number().int().min(1).default(30_000),
  PARLEY_INTROSPECTION: z.enum(['on', 'off']).optional(),
  // GraphiQL at GET /graphql (src/server/explorer.ts): on by default outside production, like introspection.
  PARLEY_EXPLORER: z.enum(['on', 'off']).optional(),
  // Browser origins allowed to call the API (src/server/cors.ts); unset: no CORS headers, any WebSocket origin.
  PARLEY_CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v, ctx) => corsOrigins(v ?? '', ctx)),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().default('development'),
  ...observabilityEnv,
});

export type Env = z.infer<typeof envSchema>;

/** Per-minute limits: run starts, queries, other mutations and subscriptions per user; anonymous per IP; all operations per API key. */
export type RateLimitName = 'runs' | 'queries' | 'mutations' | 'subscriptions' | 'anonymous' | 'apiKey' | 'authFailures';
export type RateLimitConfig = Record<RateLimitName, number>;

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
  /** Required `iss` and `aud` of JWTs, when set. */
  jwtIssuer?: string;
  jwtAudience?: string;
  dataDir: string;
  worker: 'inline' | 'off';
  /** Whether this process applies pending migrations at boot (under an advisory lock), or only checks that none are pending. */
  migrate: boolean;
  /** Upper bound of a graceful shutdown (src/process.ts); a deployment's stop grace period must be longer. */
  shutdownTimeoutMs: number;
  workerConcurrency: number;
  jobLockMs: number;
  /** Default execution deadline of a run (per claim); agents and runs may set their own. */
  runTimeoutMs: number;
  /** How long a REQUIRES_ACTION run waits for tool outputs before it ends FAILED (REQUIRES_ACTION_EXPIRED). */
  requiresActionTtlSeconds: number;
  /** A run whose heartbeat is older than this has lost its worker; heartbeats are sent every quarter of it. */
  runLeaseMs: number;
  /** How often the elected reconciler looks for runs to end. */
  reconcileIntervalMs: number;
  /** How long a worker keeps retrying a run's write while Postgres is unreachable before it gives up. */
  dbRetryMs: number;
  maxSteps: number;
  demoTokenDelayMs: number;
  runEventRetentionSeconds: number;
  toolTimeoutMs: number;
  queryLimits: QueryLimits;
  /** Execution deadline of one operation (of each event, for a subscription). */
  operationTimeoutMs: number;
  /** Whether `__schema`/`__type` queries are answered; off by default in production. */
  introspection: boolean;
  /** Whether GET /graphql serves GraphiQL to browsers; off by default in production. */
  explorer: boolean;
  /** Origins (`https://app.example.com`) whose pages may call the API; empty: CORS off. */
  corsOrigins: string[];
  /** Requests per minute by operation class, 0 = off (src/server/rate-limit.ts). */
  rateLimits: RateLimitConfig;
  /** Concurrent graphql-ws operations one socket, and one user across every node, may hold. */
  maxSubscriptionsPerSocket: number;
  maxSubscriptionsPerUser: number;
  /** A socket that sends no connection_init this long after opening is closed (4408). */
  wsInitTimeoutMs: number;
  /** Largest HTTP body and largest WebSocket message: one value, so neither transport is a way around the other. */
  maxBodyBytes: number;
  /** Whose X-Forwarded-For to believe for the client's address (express `trust proxy`); off: the socket's peer. */
  trustProxy: boolean | number | string;
  /** Runs one user may have queued or in progress at once; past it a start is refused (RATE_LIMITED). */
  maxActiveRunsPerUser: number;
  /**
   * PARLEY_GUARDRAILS=off turns every guardrail off at once (query cost, rate
   * and active-run limits, operation timeout): for benchmarks that measure
   * their cost, never for a node that faces users. Logged loudly at boot.
   */
  guardrails: boolean;
  logLevel: Env['LOG_LEVEL'];
  production: boolean;
  /** Metrics and traces (src/observability/config.ts). */
  observability: ObservabilityConfig;
}

/** What one GraphQL document may ask for; past any of these it is refused with QUERY_TOO_COMPLEX. */
export interface QueryLimits {
  /** Lexical tokens; checked while parsing, so an oversized document costs no validation. */
  maxTokens: number;
  /** Nesting of selection sets (fragments add none). */
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  /** Estimated fields in the answer: lists count `first` (or an assumed size) times their items. */
  maxCost: number;
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
    jwtIssuer: e.JWT_ISSUER,
    jwtAudience: e.JWT_AUDIENCE,
    dataDir: e.PARLEY_DATA_DIR,
    worker: e.PARLEY_WORKER,
    migrate: e.PARLEY_MIGRATE === 'on',
    shutdownTimeoutMs: e.PARLEY_SHUTDOWN_TIMEOUT_MS,
    workerConcurrency: e.PARLEY_WORKER_CONCURRENCY,
    jobLockMs: e.PARLEY_JOB_LOCK_MS,
    runTimeoutMs: e.PARLEY_RUN_TIMEOUT_MS,
    requiresActionTtlSeconds: e.PARLEY_REQUIRES_ACTION_TTL_S,
    runLeaseMs: e.PARLEY_RUN_LEASE_MS,
    reconcileIntervalMs: e.PARLEY_RECONCILE_INTERVAL_MS,
    dbRetryMs: e.PARLEY_DB_RETRY_MS,
    maxSteps: e.PARLEY_MAX_STEPS,
    demoTokenDelayMs: e.PARLEY_DEMO_TOKEN_DELAY_MS,
    runEventRetentionSeconds: e.PARLEY_RUN_EVENT_RETENTION_S,
    toolTimeoutMs: e.PARLEY_TOOL_TIMEOUT_MS,
    queryLimits: {
      maxTokens: e.PARLEY_MAX_QUERY_TOKENS,
      maxDepth: e.PARLEY_MAX_QUERY_DEPTH,
      maxAliases: e.PARLEY_MAX_ALIASES,
      maxDirectives: e.PARLEY_MAX_DIRECTIVES,
      maxCost: e.PARLEY_MAX_QUERY_COST,
    },
    operationTimeoutMs: e.PARLEY_OPERATION_TIMEOUT_MS,
    introspection: e.PARLEY_INTROSPECTION ? e.PARLEY_INTROSPECTION === 'on' : e.NODE_ENV !== 'production',
    explorer: e.PARLEY_EXPLORER ? e.PARLEY_EXPLORER === 'on' : e.NODE_ENV !== 'production',
    corsOrigins: e.PARLEY_CORS_ORIGINS,
    rateLimits: rateLimits(e),
    maxSubscriptionsPerSocket: e.PARLEY_GUARDRAILS === 'on' ? e.PARLEY_MAX_SUBSCRIPTIONS_PER_SOCKET : Number.POSITIVE_INFINITY,
    maxSubscriptionsPerUser: e.PARLEY_GUARDRAILS === 'on' ? e.PARLEY_MAX_SUBSCRIPTIONS_PER_USER : Number.POSITIVE_INFINITY,
    wsInitTimeoutMs: e.PARLEY_WS_INIT_TIMEOUT_MS,
    maxBodyBytes: e.PARLEY_MAX_BODY_BYTES,
    trustProxy: e.PARLEY_TRUST_PROXY,
    maxActiveRunsPerUser: e.PARLEY_GUARDRAILS === 'on' ? e.PARLEY_MAX_ACTIVE_RUNS_PER_USER : Number.POSITIVE_INFINITY,
    guardrails: e.PARLEY_GUARDRAILS === 'on',
    logLevel: e.LOG_LEVEL,
    production: e.NODE_ENV === 'production',
    observability: toObservabilityConfig(e),
  };
}

/** `https://a.example, http://localhost:5173` → normalized origins; anything but a bare http(s) origin is refused. */
function corsOrigins(list: string, ctx: z.RefinementCtx): string[] {
  const origins: string[] = [];
  for (const item of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    let url: URL | undefined;
    try {
      url = new URL(item);
    } catch {
      url = undefined;
    }
    if (!url || item.includes('*') || !['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search || url.hash || url.username) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${item}" is not an origin like https://app.example.com (scheme, host and optional port; no path, no wildcard)` });
      continue;
    }
    origins.push(url.origin);
  }
  return [...new Set(origins)];
}

function rateLimits(e: Env): RateLimitConfig {
  const limits: RateLimitConfig = {
    runs: e.PARLEY_RATE_LIMIT_RUNS_PER_MINUTE,
    queries: e.PARLEY_RATE_LIMIT_QUERIES_PER_MINUTE,
    mutations: e.PARLEY_RATE_LIMIT_MUTATIONS_PER_MINUTE,
    subscriptions: e.PARLEY_RATE_LIMIT_SUBSCRIPTIONS_PER_MINUTE,
    anonymous: e.PARLEY_RATE_LIMIT_ANONYMOUS_PER_MINUTE,
    apiKey: e.PARLEY_RATE_LIMIT_API_KEY_PER_MINUTE,
    authFailures: e.PARLEY_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
  };
  return e.PARLEY_GUARDRAILS === 'on' ? limits : { runs: 0, queries: 0, mutations: 0, subscriptions: 0, anonymous: 0, apiKey: 0, authFailures: 0 };
}
