import { z } from 'zod';
import { ConfigError } from '../../config';
import { ModelCatalog, splitModelId, type ModelInfo } from '../models/model-catalog';
import { DemoProvider } from './demo-provider';
import { OpenAICompatibleProvider } from './openai-provider';
import { ProviderError, type ChatProvider } from './provider.types';

export interface ProviderRegistryOptions {
  /** OPENAI_BASE_URL: alone it is enough for keyless local servers (Ollama, vLLM). */
  openaiBaseUrl?: string;
  /** OPENAI_API_KEY: alone it means api.openai.com. */
  openaiApiKey?: string;
  /** PARLEY_PROVIDERS: `{ "<name>": { "baseUrl", "apiKey"?, "timeoutMs"?, … } }`. */
  providersJson?: string;
  /** PARLEY_MODELS, used when no catalog is passed. */
  modelsJson?: string;
  catalog?: ModelCatalog;
  demoTokenDelayMs?: number;
}

/** What the run engine needs to call a model: who to ask, under which name, and what it costs. */
export interface ResolvedModel {
  provider: ChatProvider;
  upstreamModel: string;
  info: ModelInfo;
}

const providerSchema = z
  .object({
    baseUrl: z.string().url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL'),
    apiKey: z.string().optional(),
    timeoutMs: z.number().int().positive().optional(),
    idleTimeoutMs: z.number().int().positive().optional(),
    maxRetries: z.number().int().nonnegative().max(10).optional(),
  })
  .strict();
const providersSchema = z.record(
  z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'provider names are letters, digits, _ . - (no slash)'),
  providerSchema,
);
export type ProviderConfig = z.infer<typeof providerSchema>;

/** Parses PARLEY_PROVIDERS; errors name the variable because this runs at boot, far from the typo. */
export function parseProvidersJson(json: string): Record<string, ProviderConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`PARLEY_PROVIDERS: not valid JSON (${(err as Error).message})`);
  }
  const parsed = providersSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  PARLEY_PROVIDERS.${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid PARLEY_PROVIDERS (a map of name → { baseUrl, apiKey? }):\n${lines.join('\n')}`);
  }
  if ('demo' in parsed.data) {
    throw new ConfigError('PARLEY_PROVIDERS: "demo" is the built-in offline provider and cannot be redefined');
  }
  return parsed.data;
}

/**
 * Routes `provider/model` ids to providers. `demo` always exists so a fresh
 * install works offline; the rest come from configuration.
 */
export class ProviderRegistry {
  readonly catalog: ModelCatalog;
  private readonly providers = new Map<string, ChatProvider>();

  constructor(opts: ProviderRegistryOptions = {}) {
    this.catalog = opts.catalog ?? new ModelCatalog(undefined, opts.modelsJson);
    this.register(new DemoProvider({ tokenDelayMs: opts.demoTokenDelayMs }));
    if (opts.openaiBaseUrl || opts.openaiApiKey) {
      this.register(
        new OpenAICompatibleProvider({
          name: 'openai',
          baseURL: opts.openaiBaseUrl ?? 'https://api.openai.com/v1',
          apiKey: opts.openaiApiKey,
        }),
      );
    }
    // Named providers come last so an explicit `openai` entry wins over the OPENAI_* shorthand.
    const named = opts.providersJson?.trim() ? parseProvidersJson(opts.providersJson) : {};
    for (const [name, { baseUrl, ...rest }] of Object.entries(named)) {
      this.register(new OpenAICompatibleProvider({ name, baseURL: baseUrl, ...rest }));
    }
  }

  /** Adds or replaces a provider; tests use it to plug in scripted ones. */
  register(provider: ChatProvider): void {
    this.providers.set(provider.name, provider);
  }

  names(): string[] {
    return [...this.providers.keys()];
  }

  get(name: string): ChatProvider | undefined {
    return this.providers.get(name);
  }

  /** Catalog entries whose provider is configured: what the `models` query should offer. */
  listModels(): ModelInfo[] {
    return this.catalog.list().filter((m) => this.providers.has(m.provider));
  }

  resolve(modelId: string): ResolvedModel {
    const parts = splitModelId(modelId);
    const provider = parts && this.providers.get(parts.provider);
    if (!parts || !provider) {
      const configured = this.names().join(', ');
      const why = parts ? `provider "${parts.provider}" is not configured` : 'ids look like provider/model';
      const message = `Unknown model "${modelId}": ${why} (configured providers: ${configured})`;
      throw new ProviderError('UNKNOWN_MODEL', message);
    }
    const info = this.catalog.resolve(modelId);
    return { provider, upstreamModel: info.upstreamModel, info };
  }
}
