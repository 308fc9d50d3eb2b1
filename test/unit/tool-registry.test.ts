import { createBuiltinRegistry } from '../../src/modules/tools/builtin-tools';
import { createCurrentTimeTool } from '../../src/modules/tools/current-time.tool';
import { MemoryToolCache, type ToolCache } from '../../src/modules/tools/tool-cache';
import { ToolRegistry, toolCacheKey } from '../../src/modules/tools/tool-registry';
import type { MessageSearchHit, ToolContext, ToolDefinition } from '../../src/modules/tools/tool.types';

function context(overrides: Partial<ToolContext> = {}): ToolContext {
  return {
    viewerId: 'viewer-1',
    signal: new AbortController().signal,
    searchMessages: async () => [],
    ...overrides,
  };
}

function tool(overrides: Partial<ToolDefinition<Record<string, unknown>>>): ToolDefinition<Record<string, unknown>> {
  return {
    name: 'echo',
    description: 'Echoes its arguments',
    parameters: { type: 'object', properties: { text: { type: 'string' } }, additionalProperties: false },
    execute: async (args) => args,
    ...overrides,
  };
}

describe('ToolRegistry', () => {
  it('lists definitions and builds provider specs', () => {
    const registry = createBuiltinRegistry(new MemoryToolCache());
    expect(registry.list().map((t) => t.name)).toEqual(['calculator', 'current_time', 'search_conversations']);
    expect(registry.get('calculator')?.cacheTtlSeconds).toBe(3600);
    expect(registry.get('nope')).toBeUndefined();
    const specs = registry.specs(['search_conversations', 'calculator']);
    expect(specs.map((s) => s.name)).toEqual(['search_conversations', 'calculator']);
    expect(Object.keys(specs[1]).sort()).toEqual(['description', 'name', 'parameters']);
    expect(specs[1].parameters.required).toEqual(['expression']);
    expect(registry.specs()).toHaveLength(3);
    expect(() => registry.specs(['calculator', 'nope'])).toThrow('Unknown tools: nope');
  });

  it('rejects bad names, duplicates and malformed schemas at registration', () => {
    const registry = new ToolRegistry().register(tool({}));
    expect(() => registry.register(tool({}))).toThrow(/already registered/);
    expect(() => registry.register(tool({ name: 'has space' }))).toThrow(/Invalid tool name/);
    expect(() =>
      registry.register(tool({ name: 'bad_schema', parameters: { type: 'object', properties: { x: { type: 'strin' } } } })),
    ).toThrow();
  });

  it('executes a builtin and returns JSON text', async () => {
    const registry = createBuiltinRegistry(new MemoryToolCache());
    const r = await registry.execute('calculator', '{"expression":"(2 + 3) * 4"}', context());
    expect(r).toMatchObject({ isError: false, cached: false });
    expect(JSON.parse(r.output)).toEqual({ expression: '(2 + 3) * 4', result: 20 });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    const noise = await registry.execute('calculator', '{"expression":"0.1 + 0.2"}', context());
    expect(JSON.parse(noise.output).result).toBe(0.3);
  });

  it('returns string outputs as-is and stringifies undefined as null', async () => {
    const registry = new ToolRegistry()
      .register(tool({ name: 'text', execute: async () => 'plain text' }))
      .register(tool({ name: 'nothing', execute: async () => undefined }));
    expect((await registry.execute('text', '{}', context())).output).toBe('plain text');
    expect((await registry.execute('nothing', '{}', context())).output).toBe('null');
  });

  it('reports an unknown tool as an error result', async () => {
    const registry = createBuiltinRegistry(new MemoryToolCache());
    const r = await registry.execute('weather', '{}', context());
    expect(r.isError).toBe(true);
    expect(r.output).toBe('Unknown tool "weather". Available tools: calculator, current_time, search_conversations');
  });

  it('reports bad JSON without throwing, and treats empty arguments as {}', async () => {
    const registry = createBuiltinRegistry(new MemoryToolCache());
    const r = await registry.execute('calculator', '{"expression": "1+1"', context());
    expect(r.isError).toBe(true);
    expect(r.output).toMatch(/^Invalid arguments for calculator: not valid JSON \(.+\)$/);
    const empty = await registry.execute('current_time', '', context());
    expect(empty.isError).toBe(false);
  });

  it('names the failing path in validation errors', async () => {
    const registry = createBuiltinRegistry(new MemoryToolCache());
    const run = (name: string, args: unknown) => registry.execute(name, JSON.stringify(args), context());

    expect((await run('calculator', { expression: 42 })).output).toBe(
      'Invalid arguments for calculator: expression: must be string',
    );
    expect((await run('calculator', {})).output).toBe('Invalid arguments for calculator: expression: is required');
    expect((await run('calculator', { expression: '1', extra: true })).output).toBe(
      'Invalid arguments for calculator: extra: is not allowed',
    );
    expect((await run('calculator', [1])).output).toBe('Invalid arguments for calculator: arguments: must be object');
    const limit = await run('search_conversations', { query: 'x', limit: 50 });
    expect(limit.isError).toBe(true);
    expect(limit.output).toBe('Invalid arguments for search_conversations: limit: must be <= 20');
    const both = await run('search_conversations', { query: '', limit: 1.5 });
    expect(both.output).toContain('query: must NOT have fewer than 1 characters');
    expect(both.output).toContain('limit: must be integer');
  });

  it('names nested paths and enum values', async () => {
    const registry = new ToolRegistry().register(
      tool({
        name: 'nested',
        parameters: {
          type: 'object',
          properties: {
            items: {
              type: 'array',
              items: { type: 'object', properties: { unit: { enum: ['c', 'f'] } }, required: ['unit'] },
            },
          },
        },
      }),
    );
    const r = await registry.execute('nested', JSON.stringify({ items: [{ unit: 'c' }, { unit: 'k' }, {}] }), context());
    expect(r.output).toBe('Invalid arguments for nested: items.1.unit: must be one of ["c","f"]; items.2.unit: is required');
  });

  it('turns a thrown error into an error result the model sees', async () => {
    const registry = new ToolRegistry()
      .register(tool({ name: 'boom', execute: async () => Promise.reject(new Error('disk on fire')) }))
      .register(
        tool({
          name: 'sync_boom',
          execute: () => {
            throw new TypeError('sync failure');
          },
        }),
      )
      .register(tool({ name: 'odd_throw', execute: async () => Promise.reject('a string') }))
      .register(tool({ name: 'bigint', execute: async () => ({ n: BigInt(1) }) }));
    expect(await registry.execute('boom', '{}', context())).toMatchObject({ isError: true, output: 'boom failed: disk on fire' });
    expect((await registry.execute('sync_boom', '{}', context())).output).toBe('sync_boom failed: sync failure');
    expect((await registry.execute('odd_throw', '{}', context())).output).toBe('odd_throw failed: a string');
    const big = await registry.execute('bigint', '{}', context());
    expect(big.isError).toBe(true);
    expect(big.output).toMatch(/^bigint failed: .*BigInt/);
  });

  it('surfaces calculator and timezone errors as results', async () => {
    const registry = createBuiltinRegistry(new MemoryToolCache());
    const div = await registry.execute('calculator', '{"expression":"1/0"}', context());
    expect(div).toMatchObject({ isError: true, output: 'calculator failed: Division by zero at column 2' });
    const tz = await registry.execute('current_time', '{"timezone":"Mars/Olympus"}', context());
    expect(tz.isError).toBe(true);
    expect(tz.output).toMatch(/^current_time failed: unknown timezone "Mars\/Olympus"/);
  });

  it('times out a slow tool and aborts its signal', async () => {
    let seen: AbortSignal | undefined;
    const registry = new ToolRegistry({ defaultTimeoutMs: 5_000 }).register(
      tool({
        name: 'slow',
        timeoutMs: 50,
        execute: (_args, ctx) => {
          seen = ctx.signal;
          return new Promise(() => undefined); // never settles, ignores the signal
        },
      }),
    );
    const started = Date.now();
    const r = await registry.execute('slow', '{}', context());
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(r).toMatchObject({ isError: true, output: 'slow failed: timed out after 50ms' });
    expect(seen?.aborted).toBe(true);
  });

  it('stops when the run is cancelled, and refuses to start on an aborted run', async () => {
    const registry = new ToolRegistry().register(tool({ name: 'wait', execute: () => new Promise(() => undefined) }));
    const run = new AbortController();
    const pending = registry.execute('wait', '{}', context({ signal: run.signal }));
    setTimeout(() => run.abort(), 10);
    expect(await pending).toMatchObject({ isError: true, output: 'wait failed: cancelled' });
    expect((await registry.execute('wait', '{}', context({ signal: run.signal }))).output).toBe('wait failed: cancelled');
  });

  it('passes searchMessages through to the tool', async () => {
    const hit: MessageSearchHit = {
      conversationId: 'c1',
      conversationTitle: 'Trip',
      messageId: 'm1',
      role: 'USER',
      snippet: 'the **train** to Lyon',
      rank: 0.1,
      createdAt: '2025-01-01T00:00:00.000Z',
    };
    const searchMessages = jest.fn(async () => [hit]);
    const registry = createBuiltinRegistry(new MemoryToolCache());
    const r = await registry.execute('search_conversations', '{"query":"train"}', context({ searchMessages }));
    expect(searchMessages).toHaveBeenCalledWith('train', 5);
    expect(JSON.parse(r.output)).toEqual({ hits: [hit] });
    await registry.execute('search_conversations', '{"query":"train","limit":2}', context({ searchMessages }));
    expect(searchMessages).toHaveBeenLastCalledWith('train', 2);
    expect(searchMessages).toHaveBeenCalledTimes(2); // never cached
  });

  it('caches cacheable tools by canonical arguments (hit and miss)', async () => {
    const cache = new MemoryToolCache();
    const execute = jest.fn(async (args: Record<string, unknown>) => ({ sum: Number(args.a) + Number(args.b) }));
    const registry = new ToolRegistry({ cache }).register(
      tool({
        name: 'add',
        cacheTtlSeconds: 60,
        parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
        execute,
      }),
    );
    const first = await registry.execute('add', '{"a":1,"b":2}', context());
    expect(first).toMatchObject({ isError: false, cached: false, output: '{"sum":3}' });
    const second = await registry.execute('add', '{ "b": 2, "a": 1 }', context());
    expect(second).toMatchObject({ isError: false, cached: true, output: '{"sum":3}' });
    expect(execute).toHaveBeenCalledTimes(1);
    const other = await registry.execute('add', '{"a":2,"b":2}', context());
    expect(other.cached).toBe(false);
    expect(execute).toHaveBeenCalledTimes(2);
    expect(await cache.get(toolCacheKey('add', { b: 2, a: 1 }))).toBe('{"sum":3}');
    expect(toolCacheKey('add', { a: 1, b: 2 })).toMatch(/^add:[0-9a-f]{64}$/);
  });

  it('does not cache errors or non-cacheable tools', async () => {
    const cache = new MemoryToolCache();
    const registry = createBuiltinRegistry(cache);
    await registry.execute('calculator', '{"expression":"1/0"}', context());
    await registry.execute('current_time', '{}', context());
    expect(cache.size).toBe(0);
    await registry.execute('calculator', '{"expression":"1+1"}', context());
    expect(cache.size).toBe(1);
  });

  it('keeps working when the cache fails', async () => {
    const errors: unknown[] = [];
    const broken: ToolCache = {
      get: async () => Promise.reject(new Error('redis down')),
      set: async () => Promise.reject(new Error('redis down')),
    };
    const registry = createBuiltinRegistry(broken, { onCacheError: (e) => errors.push(e) });
    const r = await registry.execute('calculator', '{"expression":"2^10"}', context());
    expect(r).toMatchObject({ isError: false, cached: false });
    expect(JSON.parse(r.output).result).toBe(1024);
    expect(errors).toHaveLength(2);
  });

  it('truncates oversized outputs', async () => {
    const registry = new ToolRegistry({ maxOutputChars: 10 }).register(
      tool({ name: 'big', execute: async () => 'x'.repeat(25) }),
    );
    const r = await registry.execute('big', '{}', context());
    expect(r.output).toBe(`${'x'.repeat(10)}\n[output truncated: 15 more characters]`);
  });
});

describe('MemoryToolCache', () => {
  it('expires entries after their TTL', async () => {
    let now = 1_000;
    const cache = new MemoryToolCache({ now: () => now });
    await cache.set('k', 'v', 10);
    now += 9_999;
    expect(await cache.get('k')).toBe('v');
    now += 1;
    expect(await cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used entry past maxEntries', async () => {
    const cache = new MemoryToolCache({ maxEntries: 2 });
    await cache.set('a', '1', 60);
    await cache.set('b', '2', 60);
    await cache.get('a'); // a is now more recent than b
    await cache.set('c', '3', 60);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBe('1');
    expect(await cache.get('c')).toBe('3');
    expect(cache.size).toBe(2);
  });
});

describe('current_time', () => {
  const fixed = new Date('2025-07-14T12:34:56.789Z');
  const registry = new ToolRegistry().register(createCurrentTimeTool(() => fixed));

  it('defaults to UTC', async () => {
    const r = await registry.execute('current_time', '{}', context());
    const body = JSON.parse(r.output);
    expect(body).toMatchObject({ iso: '2025-07-14T12:34:56Z', timezone: 'UTC' });
    expect(body.formatted).toContain('July 14, 2025');
  });

  it('renders local time with the zone offset', async () => {
    const paris = JSON.parse((await registry.execute('current_time', '{"timezone":"Europe/Paris"}', context())).output);
    expect(paris).toMatchObject({ iso: '2025-07-14T14:34:56+02:00', timezone: 'Europe/Paris' });
    expect(paris.formatted).toMatch(/Monday, July 14, 2025 at 2:34:56\sPM/);
    const kolkata = JSON.parse((await registry.execute('current_time', '{"timezone":"Asia/Kolkata"}', context())).output);
    expect(kolkata.iso).toBe('2025-07-14T18:04:56+05:30');
    expect(new Date(kolkata.iso).getTime()).toBe(Math.floor(fixed.getTime() / 1000) * 1000);
  });
});
