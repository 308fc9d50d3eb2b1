import {
  MESSAGE_OVERHEAD,
  countMessageTokens,
  countToolTokens,
  familyOf,
  tokenCounterFor,
} from '../../src/modules/context/tokenizer';
import { formatTranscript, summaryMessageText } from '../../src/modules/context/transcript';
import { MessageRole } from '../../src/modules/messages/message.entity';

describe('tokenizer', () => {
  it('picks o200k for current OpenAI models, cl100k for older and other families, nothing for unknown ones', () => {
    for (const m of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1-nano', 'o4-mini', 'o1', 'o3-mini', 'gpt-5', 'openai/gpt-4o', 'chatgpt-4o-latest']) {
      expect([m, familyOf(m)]).toEqual([m, { encoding: 'o200k_base', margin: 1 }]);
    }
    for (const m of ['gpt-4', 'gpt-4-turbo', 'gpt-3.5-turbo']) expect(familyOf(m)).toEqual({ encoding: 'cl100k_base', margin: 1 });
    for (const m of ['deepseek-chat', 'llama-3.3-70b-versatile', 'meta-llama/Llama-3-8B', 'qwen2.5:7b', 'mistral-large']) {
      expect(familyOf(m)?.encoding).toBe('cl100k_base');
      expect(familyOf(m)!.margin).toBeGreaterThan(1);
    }
    for (const m of ['demo', 'demo/demo', 'my-finetune', 'omni-thing']) expect(familyOf(m)).toBeUndefined();
  });

  it('counts with the real encodings', () => {
    // OpenAI cookbook ("How to count tokens with tiktoken"): cl100k_base encodes this as 6 tokens.
    expect(tokenCounterFor('gpt-4').count('tiktoken is great!')).toBe(6);
    expect(tokenCounterFor('gpt-3.5-turbo').count('tiktoken is great!')).toBe(6);
    // o200k's larger vocabulary is markedly cheaper on non-English text: a different table really is used.
    const japanese = '今日はとても良い天気ですね。散歩に行きましょう。';
    expect(tokenCounterFor('gpt-4o').count(japanese)).toBeLessThan(tokenCounterFor('gpt-4').count(japanese));
    // Other families count with cl100k plus their margin.
    expect(tokenCounterFor('deepseek-chat').count('tiktoken is great!')).toBe(Math.ceil(6 * 1.15));
    // Special-token text in user content is counted as text, never rejected.
    expect(tokenCounterFor('gpt-4o').count('<|endoftext|>')).toBeGreaterThan(1);
    expect(tokenCounterFor('gpt-4o').count('')).toBe(0);
  });

  it('over-estimates unknown families at one token per three characters', () => {
    const c = tokenCounterFor('demo');
    expect(c.encoding).toBe('approx');
    expect(c.count('a'.repeat(30))).toBe(10);
    expect(c.count('a'.repeat(31))).toBe(11);
  });

  it('caches counters per model', () => {
    expect(tokenCounterFor('gpt-4o')).toBe(tokenCounterFor('gpt-4o'));
  });

  it('truncates to at most the given tokens', () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
    for (const model of ['gpt-4o', 'gpt-4', 'deepseek-chat', 'demo']) {
      const c = tokenCounterFor(model);
      const cut = c.truncate(text, 17);
      expect(c.count(cut)).toBeLessThanOrEqual(17);
      expect(c.count(cut)).toBeGreaterThan(10);
      expect(text.startsWith(cut)).toBe(true);
    }
    expect(tokenCounterFor('gpt-4o').truncate('short', 100)).toBe('short');
    expect(tokenCounterFor('gpt-4o').truncate('émoji 🎉🎉🎉 text', 3).length).toBeGreaterThan(0);
  });

  it('counts a chat message with its overhead and tool calls', () => {
    const c = tokenCounterFor('demo');
    expect(countMessageTokens(c, { content: 'x'.repeat(30) })).toBe(MESSAGE_OVERHEAD + 10);
    expect(countMessageTokens(c, { content: null })).toBe(MESSAGE_OVERHEAD);
    const withCall = countMessageTokens(c, { content: '', toolCalls: [{ id: 'abc', name: 'calc', arguments: '{"e":"1+2"}' }] });
    expect(withCall).toBe(MESSAGE_OVERHEAD + 4 + 1 + 2 + 4);
    expect(countMessageTokens(c, { content: 'ok', toolCallId: 'call_1' })).toBe(MESSAGE_OVERHEAD + 1 + 2);
    expect(countToolTokens(c, [{ name: 'calc', description: 'd', parameters: {} }])).toBeGreaterThan(4);
  });
});

describe('transcript', () => {
  it('labels speakers and spells out tool calls and results', () => {
    const text = formatTranscript([
      { role: MessageRole.USER, content: 'what is 2+2?' },
      { role: MessageRole.ASSISTANT, content: '', toolCalls: [{ id: 'c1', name: 'calculator', arguments: '{"expression":"2+2"}' }] },
      { role: MessageRole.TOOL, content: '4', toolCallId: 'c1' },
      { role: MessageRole.ASSISTANT, content: ' It is 4. ' },
    ]);
    expect(text).toBe(
      'User: what is 2+2?\n\nAssistant called calculator({"expression":"2+2"}) [c1]\n\nTool result (c1): 4\n\nAssistant: It is 4.',
    );
    expect(summaryMessageText('s', 1)).toContain('1 earlier message of');
    expect(summaryMessageText('s', 3)).toContain('3 earlier messages');
  });
});
