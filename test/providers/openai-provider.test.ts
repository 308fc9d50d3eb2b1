import { OpenAICompatibleProvider, type OpenAICompatibleProviderOptions } from '../../src/modules/providers/openai-provider';
import { ProviderError, type ChatRequest, type ProviderEvent } from '../../src/modules/providers/provider.types';
import { now, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
afterEach(() => {
  expect(fake.pending()).toBe(0);
  fake.reset();
});

const provider = (opts: Partial<OpenAICompatibleProviderOptions> = {}) =>
  new OpenAICompatibleProvider({ name: 'fake', baseURL: fake.url, apiKey: 'sk-test', retryBaseDelayMs: 10, ...opts });

const request = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'fake-model',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

async function collect(p: OpenAICompatibleProvider, req: ChatRequest = request()): Promise<ProviderEvent[]> {
  const events: ProviderEvent[] = [];
  for await (const e of p.stream(req)) events.push(e);
  return events;
}

async function failure(p: OpenAICompatibleProvider, req: ChatRequest = request(), seen: ProviderEvent[] = []): Promise<ProviderError> {
  try {
    for await (const e of p.stream(req)) seen.push(e);
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('stream did not fail');
}

const joined = (events: ProviderEvent[], type: 'text' | 'reasoning') => events.map((e) => (e.type === type ? e.text : '')).join('');
const last = (events: ProviderEvent[]) => events[events.length - 1];

describe('OpenAICompatibleProvider against the fake server', () => {
  it.each(['reasoning_content', 'reasoning'] as const)('streams reasoning (%s) and text, then finish with usage', async (field) => {
    fake.enqueue({
      kind: 'stream',
      reasoningField: field,
      reasoning: ['Let me ', 'think.'],
      text: ['Hello', ', ', 'world'],
      usage: { promptTokens: 120, completionTokens: 40, reasoningTokens: 25, cachedTokens: 100 },
    });
    const events = await collect(provider());
    expect(events.map((e) => e.type)).toEqual(['reasoning', 'reasoning', 'text', 'text', 'text', 'finish']);
    expect(joined(events, 'reasoning')).toBe('Let me think.');
    expect(joined(events, 'text')).toBe('Hello, world');
    expect(last(events)).toEqual({
      type: 'finish',
      reason: 'stop',
      toolCalls: [],
      usage: { promptTokens: 120, completionTokens: 40, reasoningTokens: 25, cachedTokens: 100 },
    });
  });

  it('sends the request the way OpenAI expects it', async () => {
    fake.enqueue({ kind: 'stream', text: ['ok'] });
    const tools = [{ name: 'calculator', description: 'math', parameters: { type: 'object', properties: {} } }];
    await collect(provider(), request({ tools, temperature: 0.2, maxTokens: 50 }));
    const [{ body, headers }] = fake.requests;
    expect(body).toMatchObject({
      model: 'fake-model',
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ type: 'function', function: tools[0] }],
    });
    expect(headers.authorization).toBe('Bearer sk-test');
  });

  it('assembles two parallel tool calls from interleaved argument fragments', async () => {
    fake.enqueue({
      kind: 'stream',
      interleaveToolCalls: true,
      toolCalls: [
        { id: 'call_a', name: 'calculator', argumentsChunks: ['{"expr', 'ession":', '"1+1"}'] },
        { id: 'call_b', name: 'current_time', argumentsChunks: ['{', '}'] },
      ],
    });
    const events = await collect(provider());
    expect(events.filter((e) => e.type === 'tool_call_started')).toEqual([
      { type: 'tool_call_started', index: 0, id: 'call_a', name: 'calculator' },
      { type: 'tool_call_started', index: 1, id: 'call_b', name: 'current_time' },
    ]);
    const deltas = events.flatMap((e) => (e.type === 'tool_call_delta' ? [`${e.index}:${e.id}:${e.argumentsDelta}`] : []));
    expect(deltas).toEqual(['0:call_a:{"expr', '1:call_b:{', '0:call_a:ession":', '1:call_b:}', '0:call_a:"1+1"}']);
    expect(last(events)).toMatchObject({
      type: 'finish',
      reason: 'tool_calls',
      toolCalls: [
        { id: 'call_a', name: 'calculator', arguments: '{"expression":"1+1"}' },
        { id: 'call_b', name: 'current_time', arguments: '{}' },
      ],
    });
  });

  it('retries a 429 before the first token and streams once', async () => {
    fake.enqueue(
      { kind: 'status', status: 429, headers: { 'retry-after-ms': '20' }, body: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } } },
      { kind: 'stream', text: ['one', ' two'] },
    );
    const events = await collect(provider());
    expect(joined(events, 'text')).toBe('one two');
    expect(events.filter((e) => e.type === 'finish')).toHaveLength(1);
    expect(fake.requests).toHaveLength(2);
    // The retry honoured retry-after-ms rather than firing at once.
    expect(fake.requests[1].receivedAt - fake.requests[0].receivedAt).toBeGreaterThanOrEqual(19);
  });

  it('gives up after maxRetries with UPSTREAM_RATE_LIMITED', async () => {
    fake.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 429 })));
    const err = await failure(provider({ maxRetries: 2 }));
    expect(err).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', status: 429, retryable: true });
    expect(fake.requests).toHaveLength(3);
  });

  it('retries a 500 and a stream that dies before its first delta', async () => {
    fake.enqueue({ kind: 'status', status: 500 }, { kind: 'truncate', afterChunks: 1, text: ['never'] }, { kind: 'stream', text: ['fine'] });
    const events = await collect(provider());
    expect(joined(events, 'text')).toBe('fine');
    expect(fake.requests.map((r) => r.scenario)).toEqual(['status', 'truncate', 'stream']);
  });

  it('does not retry client errors', async () => {
    fake.enqueue({ kind: 'status', status: 400, body: { error: { message: 'messages: too long', type: 'invalid_request_error' } } });
    const err = await failure(provider());
    expect(err).toMatchObject({ code: 'BAD_REQUEST', status: 400, retryable: false });
    expect(err.message).toMatch(/messages: too long/);
    expect(fake.requests).toHaveLength(1);
  });

  it('maps a 404 to UNKNOWN_MODEL', async () => {
    fake.enqueue({ kind: 'status', status: 404, body: { error: { message: 'The model `nope` does not exist', type: 'invalid_request_error', code: 'model_not_found' } } });
    expect(await failure(provider())).toMatchObject({ code: 'UNKNOWN_MODEL', status: 404 });
  });

  it('surfaces an upstream error event after the first token without retrying', async () => {
    fake.enqueue({ kind: 'error-after', afterChunks: 3, text: ['a', 'b', 'c', 'd'] }, { kind: 'stream', text: ['unused'] });
    const seen: ProviderEvent[] = [];
    const err = await failure(provider(), request(), seen);
    expect(err).toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect(err.message).toMatch(/server had an error/);
    expect(joined(seen, 'text')).toBe('ab');
    expect(fake.requests).toHaveLength(1);
    fake.reset(); // the second scenario was deliberately left unserved
  });

  it('reports a socket torn down mid-stream as TRUNCATED_STREAM', async () => {
    fake.enqueue({ kind: 'truncate', afterChunks: 3, text: ['a', 'b', 'c', 'd'] });
    const seen: ProviderEvent[] = [];
    const err = await failure(provider(), request(), seen);
    expect(err).toMatchObject({ code: 'TRUNCATED_STREAM', retryable: true });
    expect(err.message).toMatch(/terminated/);
    expect(joined(seen, 'text')).toBe('ab');
    expect(fake.requests).toHaveLength(1);
  });

  it('reports a clean end without finish_reason as TRUNCATED_STREAM', async () => {
    fake.enqueue({ kind: 'truncate', afterChunks: 3, clean: true, text: ['a', 'b', 'c'] });
    expect(await failure(provider())).toMatchObject({ code: 'TRUNCATED_STREAM' });
  });

  it('completes when the socket dies after finish_reason but before the usage chunk', async () => {
    // Chunks: role, a, finish, usage → truncate after 3 loses only the usage.
    fake.enqueue({ kind: 'truncate', afterChunks: 3, text: ['a'] });
    const events = await collect(provider());
    expect(last(events)).toEqual({ type: 'finish', reason: 'stop', toolCalls: [] });
  });

  it('reports an unparseable chunk as MALFORMED_STREAM', async () => {
    fake.enqueue({ kind: 'malformed', afterChunks: 2, text: ['a', 'b'] });
    const seen: ProviderEvent[] = [];
    const err = await failure(provider(), request(), seen);
    expect(err).toMatchObject({ code: 'MALFORMED_STREAM', retryable: false });
    expect(joined(seen, 'text')).toBe('a');
  });

  it('stops the upstream request promptly on abort and throws CANCELLED', async () => {
    fake.enqueue({ kind: 'stream', text: Array.from({ length: 50 }, (_, i) => `w${i} `), delayMs: 10 });
    const controller = new AbortController();
    const seen: ProviderEvent[] = [];
    let abortedAt = 0;
    const err = await (async () => {
      for await (const e of provider().stream(request({ signal: controller.signal }))) {
        seen.push(e);
        if (seen.length === 3) {
          abortedAt = now();
          controller.abort();
        }
      }
    })().catch((e: unknown) => e as ProviderError);
    expect(err).toBeInstanceOf(ProviderError);
    if (!(err instanceof ProviderError)) return;
    expect(err.code).toBe('CANCELLED');
    expect(seen).toHaveLength(3);
    const serverSawAbort = await fake.waitForAbort(0);
    expect(serverSawAbort - abortedAt).toBeLessThan(100);
  });

  it('abandons a hung upstream when aborted while waiting for the first chunk', async () => {
    fake.enqueue({ kind: 'hang', afterChunks: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const err = await failure(provider(), request({ signal: controller.signal }));
    expect(err.code).toBe('CANCELLED');
    await fake.waitForAbort(0, 100);
  });

  it('times out an upstream that goes silent mid-stream, without retrying after output', async () => {
    fake.enqueue({ kind: 'hang', afterChunks: 2, text: ['a', 'b'] });
    const seen: ProviderEvent[] = [];
    const started = Date.now();
    const err = await failure(provider({ idleTimeoutMs: 80 }), request(), seen);
    expect(err).toMatchObject({ code: 'UPSTREAM_TIMEOUT', retryable: true });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(joined(seen, 'text')).toBe('a');
    await fake.waitForAbort(0, 100);
    expect(fake.requests).toHaveLength(1);
  });

  it('retries an idle timeout that happens before any output', async () => {
    fake.enqueue({ kind: 'hang', afterChunks: 1 }, { kind: 'stream', text: ['late'] });
    const events = await collect(provider({ idleTimeoutMs: 50 }));
    expect(joined(events, 'text')).toBe('late');
    expect(fake.requests).toHaveLength(2);
  });

  it('times out a request whose headers never come', async () => {
    fake.enqueue({ kind: 'hang', afterChunks: 0, beforeHeaders: true });
    const err = await failure(provider({ timeoutMs: 80, maxRetries: 0 }));
    expect(err).toMatchObject({ code: 'UPSTREAM_TIMEOUT', retryable: true });
  });

  it('maps a refused connection to UPSTREAM_UNAVAILABLE', async () => {
    const p = new OpenAICompatibleProvider({ name: 'down', baseURL: 'http://127.0.0.1:1/v1', maxRetries: 1, retryBaseDelayMs: 5 });
    expect(await failure(p)).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: true });
  });

  it('stops reading when the consumer breaks out early', async () => {
    fake.enqueue({ kind: 'stream', text: Array.from({ length: 50 }, () => 'x'), delayMs: 10 });
    for await (const e of provider().stream(request())) {
      if (e.type === 'text') break;
    }
    await fake.waitForAbort(0, 200);
  });
});
