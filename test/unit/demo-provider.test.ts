import { DemoProvider, findArithmetic } from '../../src/modules/providers/demo-provider';
import { ProviderError, type ChatRequest, type ChatToolSpec, type ProviderEvent } from '../../src/modules/providers/provider.types';

const calculator: ChatToolSpec = {
  name: 'calculator',
  description: 'Evaluates arithmetic',
  parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] },
};
const currentTime: ChatToolSpec = { name: 'current_time', description: 'Current time', parameters: { type: 'object', properties: {} } };

async function collect(req: ChatRequest, tokenDelayMs = 0): Promise<ProviderEvent[]> {
  const events: ProviderEvent[] = [];
  for await (const e of new DemoProvider({ tokenDelayMs }).stream(req)) events.push(e);
  return events;
}

const textOf = (events: ProviderEvent[], type: 'text' | 'reasoning') =>
  events.map((e) => (e.type === type ? e.text : '')).join('');
const finishOf = (events: ProviderEvent[]) => {
  const last = events[events.length - 1];
  if (last.type !== 'finish') throw new Error('last event is not finish');
  return last;
};

describe('DemoProvider', () => {
  it('streams reasoning, then an echo of the user message word by word', async () => {
    const events = await collect({ model: 'demo', messages: [{ role: 'user', content: 'Hello there' }] });
    expect(events[0].type).toBe('reasoning');
    expect(textOf(events, 'reasoning')).toMatch(/^Thinking about “Hello there”/);
    expect(textOf(events, 'text')).toMatch(/^You said: "Hello there"\. .*demo model, not an LLM/);
    expect(events.filter((e) => e.type === 'text').length).toBeGreaterThan(10);
    const finish = finishOf(events);
    expect(finish).toMatchObject({ reason: 'stop', toolCalls: [] });
    expect(finish.usage?.promptTokens).toBe(3);
    expect(finish.usage?.reasoningTokens).toBe(events.filter((e) => e.type === 'reasoning').length);
    expect(finish.usage?.completionTokens).toBe(events.length - 1);
  });

  it('is deterministic', async () => {
    const req: ChatRequest = { model: 'demo', messages: [{ role: 'user', content: 'same input' }] };
    expect(await collect(req)).toEqual(await collect(req));
  });

  it('calls the calculator for arithmetic when offered, streaming the arguments in fragments', async () => {
    const events = await collect({ model: 'demo', messages: [{ role: 'user', content: 'what is 12*(3+4)?' }], tools: [calculator] });
    const started = events.filter((e) => e.type === 'tool_call_started');
    expect(started).toEqual([{ type: 'tool_call_started', index: 0, id: 'call_demo_1_0', name: 'calculator' }]);
    const deltas = events.flatMap((e) => (e.type === 'tool_call_delta' ? [e.argumentsDelta] : []));
    expect(deltas.length).toBeGreaterThanOrEqual(2);
    expect(deltas.join('')).toBe('{"expression":"12*(3+4)"}');
    expect(textOf(events, 'text')).toBe('');
    expect(finishOf(events)).toMatchObject({
      reason: 'tool_calls',
      toolCalls: [{ id: 'call_demo_1_0', name: 'calculator', arguments: '{"expression":"12*(3+4)"}' }],
    });
  });

  it('does not call a tool that was not offered', async () => {
    const events = await collect({ model: 'demo', messages: [{ role: 'user', content: 'what is 2+2?' }] });
    expect(events.some((e) => e.type === 'tool_call_started')).toBe(false);
    expect(finishOf(events).reason).toBe('stop');
  });

  it('calls current_time for "time", in parallel with the calculator', async () => {
    const events = await collect({
      model: 'demo',
      messages: [{ role: 'user', content: 'what time is it, and what is 1+1?' }],
      tools: [calculator, currentTime],
    });
    expect(finishOf(events).toolCalls.map((c) => [c.name, c.arguments])).toEqual([
      ['calculator', '{"expression":"1+1"}'],
      ['current_time', '{}'],
    ]);
  });

  it('reports a tool result', async () => {
    const events = await collect({
      model: 'demo',
      tools: [calculator],
      messages: [
        { role: 'user', content: 'what is 12*(3+4)?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_demo_1_0', type: 'function', function: { name: 'calculator', arguments: '{"expression":"12*(3+4)"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_demo_1_0', content: '84' },
      ],
    });
    expect(textOf(events, 'text')).toBe('The result is 84.');
    expect(finishOf(events)).toMatchObject({ reason: 'stop', toolCalls: [] });
  });

  it('reads the result out of a built-in tool\'s JSON output', async () => {
    const events = await collect({
      model: 'demo',
      messages: [
        { role: 'user', content: 'what is 6*7?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'calculator', arguments: '{"expression":"6*7"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: '{"expression":"6*7","result":42}' },
      ],
    });
    expect(textOf(events, 'text')).toBe('The result is 42.');
  });

  it('stops with finish reason length when maxTokens runs out', async () => {
    const events = await collect({ model: 'demo', maxTokens: 3, messages: [{ role: 'user', content: 'hi' }] });
    expect(events.filter((e) => e.type === 'text')).toHaveLength(3);
    expect(finishOf(events).reason).toBe('length');
  });

  it('paces tokens and stops promptly with CANCELLED on abort', async () => {
    const controller = new AbortController();
    const seen: ProviderEvent[] = [];
    const started = Date.now();
    const run = (async () => {
      for await (const e of new DemoProvider({ tokenDelayMs: 20 }).stream({
        model: 'demo',
        messages: [{ role: 'user', content: 'a long answer please' }],
        signal: controller.signal,
      })) {
        seen.push(e);
        if (seen.length === 3) setTimeout(() => controller.abort(), 5);
      }
    })();
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe('CANCELLED');
    expect(seen).toHaveLength(3);
    // 3 tokens at 20 ms plus the abort: nowhere near the full answer's length.
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(Date.now() - started).toBeLessThan(200);
  });
});

describe('findArithmetic', () => {
  it.each([
    ['what is 12*(3+4)?', '12*(3+4)'],
    ['compute (1 + 2) / 3 please', '(1 + 2) / 3'],
    ['2.5*4', '2.5*4'],
    ['I have 3 apples', undefined],
    ['no numbers here', undefined],
  ])('%s → %s', (input, expected) => {
    expect(findArithmetic(input)).toBe(expected);
  });
});
