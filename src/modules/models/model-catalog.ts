import { z } from 'zod';
import { ConfigError } from '../../config';
import { ProviderError } from '../providers/provider.types';

/**
 * What Parley knows about a model: limits for context trimming, prices for
 * cost accounting, capabilities for deciding whether tools may be offered.
 * Ids are `provider/model`; `upstreamModel` is what the provider is sent.
 */
export interface ModelInfo {
  id: string;
  provider: string;
  upstreamModel: string;
  contextWindow: number;
  maxOutputTokens: number;
  /** USD per million prompt tokens not served from the provider's prompt cache. */
  inputPricePer1M: number;
  outputPricePer1M: number;
  /** USD per million cached prompt tokens; unset means cached tokens cost the full input price. */
  cachedInputPricePer1M?: number;
  capabilities: { tools: boolean; reasoning: boolean; streaming: boolean };
  description?: string;
}

/** Token counts needed for billing; `cachedTokens` is a subset of `promptTokens`. */
export interface BillableUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

type Seed = Omit<ModelInfo, 'provider' | 'upstreamModel' | 'capabilities'> & {
  capabilities?: Partial<ModelInfo['capabilities']>;
};

const CHAT = { tools: true, reasoning: false, streaming: true };

/** Builds an entry from its id so provider and upstream name can never disagree with it. */
function model(seed: Seed): ModelInfo {
  const { provider, model: upstreamModel } = splitModelId(seed.id) ?? { provider: seed.id, model: seed.id };
  return { ...seed, provider, upstreamModel, capabilities: { ...CHAT, ...seed.capabilities } };
}

/**
 * Public list prices (USD per 1M tokens) as of late 2025. They are defaults
 * only: PARLEY_MODELS overrides them without a release when vendors reprice.
 */
export const DEFAULT_MODELS: readonly ModelInfo[] = [
  model({
    id: 'demo/demo',
    contextWindow: 32_768,
    maxOutputTokens: 4_096,
    inputPricePer1M: 0,
    outputPricePer1M: 0,
    capabilities: { reasoning: true },
    description:
      'Built-in offline demo model: deterministic, free, streams reasoning, text and tool calls. Not an LLM.',
  }),
  model({
    id: 'openai/gpt-4o-mini', contextWindow: 128_000, maxOutputTokens: 16_384,
    inputPricePer1M: 0.15, outputPricePer1M: 0.6, cachedInputPricePer1M: 0.075,
  }),
  model({
    id: 'openai/gpt-4o', contextWindow: 128_000, maxOutputTokens: 16_384,
    inputPricePer1M: 2.5, outputPricePer1M: 10, cachedInputPricePer1M: 1.25,
  }),
  model({
    id: 'openai/gpt-4.1', contextWindow: 1_047_576, maxOutputTokens: 32_768,
    inputPricePer1M: 2, outputPricePer1M: 8, cachedInputPricePer1M: 0.5,
  }),
  model({
    id: 'openai/gpt-4.1-mini', contextWindow: 1_047_576, maxOutputTokens: 32_768,
    inputPricePer1M: 0.4, outputPricePer1M: 1.6, cachedInputPricePer1M: 0.1,
  }),
  model({
    id: 'openai/gpt-4.1-nano', contextWindow: 1_047_576, maxOutputTokens: 32_768,
    inputPricePer1M: 0.1, outputPricePer1M: 0.4, cachedInputPricePer1M: 0.025,
  }),
  model({
    id: 'openai/o4-mini', contextWindow: 200_000, maxOutputTokens: 100_000,
    inputPricePer1M: 1.1, outputPricePer1M: 4.4, cachedInputPricePer1M: 0.275, capabilities: { reasoning: true },
  }),
  model({
    id: 'deepseek/deepseek-chat', contextWindow: 128_000, maxOutputTokens: 8_192,
    inputPricePer1M: 0.28, outputPricePer1M: 0.42, cachedInputPricePer1M: 0.028,
  }),
  model({
    id: 'deepseek/deepseek-reasoner', contextWindow: 128_000, maxOutputTokens: 65_536,
    inputPricePer1M: 0.28, outputPricePer1M: 0.42, cachedInputPricePer1M: 0.028, capabilities: { reasoning: true },
  }),
  model({
    id: 'groq/llama-3.3-70b-versatile', contextWindow: 131_072, maxOutputTokens: 32_768,
    inputPricePer1M: 0.59, outputPricePer1M: 0.79,
  }),
  model({
    id: 'groq/llama-3.1-8b-instant', contextWindow: 131_072, maxOutputTokens: 8_192,
    inputPricePer1M: 0.05, outputPricePer1M: 0.08,
  }),
];

/** Splits on the first '/' only: upstream names such as `meta-llama/Llama-3-8B` contain slashes themselves. */
export function splitModelId(id: string): { provider: string; model: string } | undefined {
  const slash = id.indexOf('/');
  if (slash <= 0 || slash === id.length - 1) return undefined;
  return { provider: id.slice(0, slash), model: id.slice(slash + 1) };
}

const nonNegative = z.number().finite().nonnegative();
const positiveInt = z.number().int().positive();
const overrideSchema = z
  .object({
    id: z.string().refine((v) => splitModelId(v) !== undefined, 'must look like provider/model'),
    upstreamModel: z.string().min(1),
    contextWindow: positiveInt,
    maxOutputTokens: positiveInt,
    inputPricePer1M: nonNegative,
    outputPricePer1M: nonNegative,
    cachedInputPricePer1M: nonNegative,
    capabilities: z.object({ tools: z.boolean(), reasoning: z.boolean(), streaming: z.boolean() }).partial().strict(),
    description: z.string(),
  })
  .partial()
  .strict();
type Override = z.infer<typeof overrideSchema>;
const overridesSchema = z.union([
  z.array(overrideSchema.required({ id: true })),
  z.record(overrideSchema),
]);

/** Parses PARLEY_MODELS; every failure names the variable so a typo is found at boot, not on first use. */
export function parseModelOverrides(json: string): (Override & { id: string })[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`PARLEY_MODELS: not valid JSON (${(err as Error).message})`);
  }
  const parsed = overridesSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  PARLEY_MODELS.${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid PARLEY_MODELS (an array or an id-keyed map of model entries):\n${lines.join('\n')}`);
  }
  if (Array.isArray(parsed.data)) return parsed.data;
  return Object.entries(parsed.data).map(([key, entry]) => {
    if (splitModelId(key) === undefined) {
      throw new ConfigError(`PARLEY_MODELS: key "${key}" must look like provider/model`);
    }
    if (entry.id !== undefined && entry.id !== key) {
      throw new ConfigError(`PARLEY_MODELS: key "${key}" and id "${entry.id}" differ`);
    }
    return { ...entry, id: key };
  });
}

/** Limits and prices assumed for a model the catalog has never heard of: conservative, and free rather than guessed. */
function fallbackModel(id: string): ModelInfo {
  return model({ id, contextWindow: 8_192, maxOutputTokens: 4_096, inputPricePer1M: 0, outputPricePer1M: 0 });
}

function merge(base: ModelInfo, o: Override): ModelInfo {
  return { ...base, ...o, capabilities: { ...base.capabilities, ...o.capabilities } };
}

/** Defaults plus configuration overrides, keyed by `provider/model` id. */
export class ModelCatalog {
  private readonly models = new Map<string, ModelInfo>();

  constructor(defaults: readonly ModelInfo[] = DEFAULT_MODELS, overridesJson?: string) {
    for (const m of defaults) this.models.set(m.id, m);
    if (overridesJson === undefined || overridesJson.trim() === '') return;
    for (const o of parseModelOverrides(overridesJson)) {
      this.models.set(o.id, merge(this.models.get(o.id) ?? fallbackModel(o.id), o));
    }
  }

  get(id: string): ModelInfo | undefined {
    return this.models.get(id);
  }

  list(): ModelInfo[] {
    return [...this.models.values()];
  }

  /**
   * Any well-formed id resolves, so a newly released model works before the
   * catalog learns about it; whether its provider exists is the registry's call.
   */
  resolve(id: string): ModelInfo {
    const known = this.models.get(id);
    if (known) return known;
    if (splitModelId(id) === undefined) {
      throw new ProviderError('UNKNOWN_MODEL', `Model id "${id}" must look like provider/model, e.g. demo/demo`);
    }
    return fallbackModel(id);
  }
}

const perToken = (pricePer1M: number) => pricePer1M / 1_000_000;

/** USD cost of one call; cached prompt tokens use the cached price when the model has one. */
export function costUsd(m: ModelInfo, usage: BillableUsage): number {
  const cached = Math.min(Math.max(usage.cachedTokens, 0), usage.promptTokens);
  const uncached = usage.promptTokens - cached;
  const cachedPrice = m.cachedInputPricePer1M ?? m.inputPricePer1M;
  return (
    uncached * perToken(m.inputPricePer1M) +
    cached * perToken(cachedPrice) +
    usage.completionTokens * perToken(m.outputPricePer1M)
  );
}
