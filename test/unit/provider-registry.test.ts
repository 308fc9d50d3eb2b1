import { ConfigError } from '../../src/config';
import { ModelCatalog } from '../../src/modules/models/model-catalog';
import { DemoProvider } from '../../src/modules/providers/demo-provider';
import { OpenAICompatibleProvider } from '../../src/modules/providers/openai-provider';
import { ProviderRegistry } from '../../src/modules/providers/provider-registry';
import { ProviderError } from '../../src/modules/providers/provider.types';

describe('ProviderRegistry', () => {
  it('always has the demo provider, and only it by default', () => {
    const r = new ProviderRegistry();
    expect(r.names()).toEqual(['demo']);
    const resolved = r.resolve('demo/demo');
    expect(resolved.provider).toBeInstanceOf(DemoProvider);
    expect(resolved.upstreamModel).toBe('demo');
    expect(resolved.info.id).toBe('demo/demo');
    expect(r.listModels().map((m) => m.id)).toEqual(['demo/demo']);
  });

  it('adds openai when OPENAI_API_KEY or OPENAI_BASE_URL is set', () => {
    expect(new ProviderRegistry({ openaiApiKey: 'sk-x' }).names()).toContain('openai');
    const local = new ProviderRegistry({ openaiBaseUrl: 'http://localhost:11434/v1' });
    const { provider, upstreamModel, info } = local.resolve('openai/llama3.2');
    expect(provider).toBeInstanceOf(OpenAICompatibleProvider);
    expect(upstreamModel).toBe('llama3.2');
    expect(info.contextWindow).toBe(8192);
    expect(local.listModels().some((m) => m.id === 'openai/gpt-4o-mini')).toBe(true);
  });

  it('adds named providers from PARLEY_PROVIDERS and splits on the first slash', () => {
    const r = new ProviderRegistry({
      providersJson: JSON.stringify({
        together: { baseUrl: 'https://api.together.xyz/v1', apiKey: 'k' },
        groq: { baseUrl: 'https://api.groq.com/openai/v1', apiKey: 'k', timeoutMs: 5000 },
      }),
    });
    expect(r.names()).toEqual(['demo', 'together', 'groq']);
    const t = r.resolve('together/meta-llama/Llama-3.3-70B-Instruct-Turbo');
    expect(t.provider.name).toBe('together');
    expect(t.upstreamModel).toBe('meta-llama/Llama-3.3-70B-Instruct-Turbo');
    expect(r.resolve('groq/llama-3.3-70b-versatile').info.inputPricePer1M).toBe(0.59);
  });

  it('uses the catalog it is given, so PARLEY_MODELS can rename upstream models', () => {
    const catalog = new ModelCatalog(undefined, '[{"id": "demo/fast", "upstreamModel": "demo-fast"}]');
    expect(new ProviderRegistry({ catalog }).resolve('demo/fast').upstreamModel).toBe('demo-fast');
  });

  it('rejects unknown providers with UNKNOWN_MODEL naming the configured ones', () => {
    const r = new ProviderRegistry({ openaiApiKey: 'sk-x' });
    const err = (() => {
      try {
        r.resolve('anthropic/claude');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'UNKNOWN_MODEL' });
    expect((err as Error).message).toMatch(/provider "anthropic" is not configured \(configured providers: demo, openai\)/);
    expect(() => r.resolve('gpt-4o')).toThrow(/provider\/model/);
  });

  it('names PARLEY_PROVIDERS on bad input', () => {
    const bad = ['{oops', '[]', '{"x": {}}', '{"x": {"baseUrl": "ftp://a"}}', '{"a/b": {"baseUrl": "http://a"}}', '{"x": {"baseUrl": "http://a", "extra": 1}}'];
    for (const providersJson of bad) {
      expect(() => new ProviderRegistry({ providersJson })).toThrow(ConfigError);
      expect(() => new ProviderRegistry({ providersJson })).toThrow(/PARLEY_PROVIDERS/);
    }
    expect(() => new ProviderRegistry({ providersJson: '{"demo": {"baseUrl": "http://a"}}' })).toThrow(/built-in/);
  });
});
