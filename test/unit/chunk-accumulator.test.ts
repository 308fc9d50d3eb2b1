import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { ChunkAccumulator } from '../../src/modules/providers/chunk-accumulator';

/** Builds a chunk from a raw delta: the point is to feed shapes the SDK types do not describe. */
const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage?: Record<string, unknown>) =>
  ({
    id: 'c',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  }) as unknown as ChatCompletionChunk;

describe('ChunkAccumulator', () => {
  it('holds argument fragments that arrive before the tool name', () => {
    const acc = new ChunkAccumulator();
    expect(acc.push(chunk({ tool_calls: [{ index: 0, id: 'a', function: { arguments: '{"x"' } }] }))).toEqual([]);
    expect(acc.push(chunk({ tool_calls: [{ index: 0, function: { name: 'f', arguments: ':1}' } }] }))).toEqual([
      { type: 'tool_call_started', index: 0, id: 'a', name: 'f' },
      { type: 'tool_call_delta', index: 0, id: 'a', argumentsDelta: '{"x":1}' },
    ]);
  });

  it.each([
    ['an id longer than Parley stores', { index: 0, id: 'x'.repeat(201), function: { name: 'f' } }, /id is not a string/],
    ['a non-string id', { index: 0, id: 7, function: { name: 'f' } }, /id is not a string/],
    ['an object as name', { index: 0, id: 'a', function: { name: { x: 1 } } }, /name is not a string/],
    ['object arguments', { index: 0, id: 'a', function: { name: 'f', arguments: { a: 1 } } }, /arguments are not a string/],
  ])('refuses a tool call with %s as a malformed stream', (_what, call, message) => {
    const acc = new ChunkAccumulator();
    expect(() => acc.push(chunk({ tool_calls: [call] }))).toThrow(expect.objectContaining({ code: 'MALFORMED_STREAM', message: expect.stringMatching(message) }));
  });

  it('clamps token counts Postgres could not store (negative, fractional, past 2^31 - 1)', () => {
    const acc = new ChunkAccumulator();
    acc.push(chunk({}, 'stop', { prompt_tokens: -5, completion_tokens: 1e12, prompt_tokens_details: { cached_tokens: 2.7 } }));
    expect(acc.usage).toEqual({ promptTokens: 0, completionTokens: 2_147_483_647, reasoningTokens: 0, cachedTokens: 2 });
  });

  it('separates whole tool calls sent without an index (Gemini)', () => {
    const acc = new ChunkAccumulator();
    acc.push(chunk({ tool_calls: [{ id: 'a', function: { name: 'f', arguments: '{}' } }] }));
    acc.push(chunk({ tool_calls: [{ id: 'b', function: { name: 'g', arguments: '{"y":2}' } }] }, 'stop'));
    expect(acc.finish()).toEqual({
      type: 'finish',
      // 'stop' with tool calls is normalised so the engine still runs them.
      reason: 'tool_calls',
      toolCalls: [
        { id: 'a', name: 'f', arguments: '{}' },
        { id: 'b', name: 'g', arguments: '{"y":2}' },
      ],
    });
  });

  it('maps vendor finish reasons and DeepSeek cache usage', () => {
    const acc = new ChunkAccumulator();
    acc.push(chunk({ content: 'x' }, 'eos'));
    acc.push(chunk({}, null, { prompt_tokens: 10, completion_tokens: 2, prompt_cache_hit_tokens: 8 }));
    expect(acc.finish()).toEqual({
      type: 'finish',
      reason: 'stop',
      toolCalls: [],
      usage: { promptTokens: 10, completionTokens: 2, reasoningTokens: 0, cachedTokens: 8 },
    });
  });

  it('ignores empty and null deltas', () => {
    const acc = new ChunkAccumulator();
    expect(acc.push(chunk({ role: 'assistant', content: '', reasoning_content: null }))).toEqual([]);
    expect(acc.finished).toBe(false);
  });
});
