import { ConfigError } from '../../src/config';
import { DEFAULT_MODELS, ModelCatalog, costUsd, splitModelId } from '../../src/modules/models/model-catalog';
import { ProviderError } from '../../src/modules/providers/provider.types';

describe('ModelCatalog', () => {
  it('ships a free demo model and priced well-known models', () => {
    const c = new ModelCatalog();
    expect(c.get('demo/demo')).toMatchObject({
      provider: 'demo',
      upstreamModel: 'demo',
      contextWindow: 32_768,
      inputPricePer1M: 0,
      outputPricePer1M: 0,
      capabilities: { tools: true, reasoning: true, streaming: true },
    });
    expect(c.get('openai/gpt-4o-mini')).toMatchObject({ provider: 'openai', upstreamModel: 'gpt-4o-mini', inputPricePer1M: 0.15 });
    expect(c.get('deepseek/deepseek-reasoner')?.capabilities.reasoning).toBe(true);
    expect(c.list().map((m) => m.id)).toEqual(DEFAULT_MODELS.map((m) => m.id));
  });

  it('applies PARLEY_MODELS overrides given as an array', () => {
    const json = JSON.stringify([
      { id: 'openai/gpt-4o-mini', outputPricePer1M: 0.5, capabilities: { tools: false } },
      { id: 'local/qwen3', contextWindow: 40_960, upstreamModel: 'qwen3:8b' },
    ]);
    const c = new ModelCatalog(undefined, json);
    const mini = c.get('openai/gpt-4o-mini');
    expect(mini).toMatchObject({ outputPricePer1M: 0.5, inputPricePer1M: 0.15 });
    expect(mini?.capabilities).toEqual({ tools: false, reasoning: false, streaming: true });
    expect(c.get('local/qwen3')).toMatchObject({ provider: 'local', upstreamModel: 'qwen3:8b', contextWindow: 40_960, inputPricePer1M: 0 });
  });

  it('applies PARLEY_MODELS overrides given as a map', () => {
    const c = new ModelCatalog(undefined, '{"demo/demo": {"contextWindow": 1000}}');
    expect(c.get('demo/demo')?.contextWindow).toBe(1000);
  });

  it('names PARLEY_MODELS on bad input', () => {
    expect(() => new ModelCatalog(undefined, '{nope')).toThrow(ConfigError);
    expect(() => new ModelCatalog(undefined, '{nope')).toThrow(/PARLEY_MODELS/);
    expect(() => new ModelCatalog(undefined, '[{"id": "noslash"}]')).toThrow(/PARLEY_MODELS\.0\.id/);
    expect(() => new ModelCatalog(undefined, '[{"id": "a/b", "contextWindow": -1}]')).toThrow(/PARLEY_MODELS/);
    expect(() => new ModelCatalog(undefined, '[{"id": "a/b", "colour": "red"}]')).toThrow(/PARLEY_MODELS/);
    expect(() => new ModelCatalog(undefined, '"a string"')).toThrow(/PARLEY_MODELS/);
  });

  it('resolves any provider/model id, with conservative fallbacks', () => {
    const c = new ModelCatalog();
    expect(c.resolve('openai/gpt-4o')).toBe(c.get('openai/gpt-4o'));
    expect(c.resolve('together/meta-llama/Llama-3.3-70B-Instruct-Turbo')).toMatchObject({
      provider: 'together',
      upstreamModel: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
      contextWindow: 8192,
      inputPricePer1M: 0,
      outputPricePer1M: 0,
      capabilities: { tools: true },
    });
    expect(() => c.resolve('gpt-4o')).toThrow(ProviderError);
  });
});

describe('splitModelId', () => {
  it('splits on the first slash only', () => {
    expect(splitModelId('a/b/c')).toEqual({ provider: 'a', model: 'b/c' });
    expect(splitModelId('/b')).toBeUndefined();
    expect(splitModelId('a/')).toBeUndefined();
  });
});

describe('costUsd', () => {
  const mini = new ModelCatalog().resolve('openai/gpt-4o-mini');

  it('prices prompt and completion tokens per million', () => {
    expect(costUsd(mini, { promptTokens: 1_000_000, completionTokens: 1_000_000, cachedTokens: 0 })).toBeCloseTo(0.75, 10);
  });

  it('bills cached prompt tokens at the cached price', () => {
    // 600k uncached × 0.15 + 400k cached × 0.075 + 1k out × 0.60
    expect(costUsd(mini, { promptTokens: 1_000_000, completionTokens: 1_000, cachedTokens: 400_000 })).toBeCloseTo(0.09 + 0.03 + 0.0006, 10);
  });

  it('bills cached tokens at the input price when the model has no cached price', () => {
    const groq = new ModelCatalog().resolve('groq/llama-3.3-70b-versatile');
    expect(costUsd(groq, { promptTokens: 1_000_000, completionTokens: 0, cachedTokens: 500_000 })).toBeCloseTo(0.59, 10);
  });

  it('is zero for the demo model', () => {
    expect(costUsd(new ModelCatalog().resolve('demo/demo'), { promptTokens: 5, completionTokens: 5, cachedTokens: 0 })).toBe(0);
  });
});
