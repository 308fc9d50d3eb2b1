import { MessageBuilder, foldRunEvents } from '../../sdk';
import { EventScript, USAGE } from './events';

describe('foldRunEvents / MessageBuilder', () => {
  it('folds a plain answer: text, reasoning, status, usage, stored message', () => {
    const m = foldRunEvents(EventScript.answer(['Hello ', 'there ', 'friend.']).events);
    expect(m).toMatchObject({
      runId: 'run-1',
      status: 'COMPLETED',
      text: 'Hello there friend.',
      reasoning: 'Thinking …',
      toolCalls: [],
      requiredAction: null,
      messages: [{ messageId: 'msg-1', role: 'ASSISTANT' }],
      usage: { promptTokens: 3, completionTokens: 3, totalTokens: 6 },
      error: null,
      lastSeq: 10,
      done: true,
    });
    expect(m.steps).toEqual([
      expect.objectContaining({ index: 0, type: 'MODEL_CALL', model: 'demo/demo', text: 'Hello there friend.', reasoning: 'Thinking …', completed: true }),
    ]);
  });

  it('folds tool calls: streamed arguments, then the complete arguments and output; text per step', () => {
    const s = new EventScript()
      .add('StepStarted', { stepIndex: 0, stepType: 'MODEL_CALL', model: 'm', toolName: null })
      .add('TokenDelta', { stepIndex: 0, text: 'Let me compute. ' })
      .add('ToolCallStarted', { stepIndex: 0, index: 0, toolCallId: 'call_a', name: 'calculator' })
      .add('ToolCallArgumentsDelta', { stepIndex: 0, toolCallId: 'call_a', delta: '{"expression":' })
      .add('ToolCallStarted', { stepIndex: 0, index: 1, toolCallId: 'call_b', name: 'current_time' })
      .add('ToolCallArgumentsDelta', { stepIndex: 0, toolCallId: 'call_a', delta: '"6*7"}' });
    const builder = new MessageBuilder();
    for (const e of s.events) builder.add(e);
    const mid = builder.snapshot();
    expect(mid.toolCalls).toEqual([
      { id: 'call_a', name: 'calculator', stepIndex: 0, index: 0, arguments: '{"expression":"6*7"}', output: null, isError: null, status: 'streaming' },
      { id: 'call_b', name: 'current_time', stepIndex: 0, index: 1, arguments: '', output: null, isError: null, status: 'streaming' },
    ]);

    s.add('StepCompleted', { stepIndex: 0, usage: { ...USAGE, totalTokens: 10, costUsd: 0.5 } })
      .add('StepStarted', { stepIndex: 1, stepType: 'TOOL_CALL', model: null, toolName: 'calculator' })
      .add('ToolCallCompleted', { stepIndex: 1, toolCallId: 'call_a', name: 'calculator', arguments: '{"expression":"6*7"}', output: '{"result":42}', isError: false })
      .add('StepCompleted', { stepIndex: 1, usage: USAGE })
      .add('StepStarted', { stepIndex: 2, stepType: 'MODEL_CALL', model: 'm', toolName: null })
      .add('TokenDelta', { stepIndex: 2, text: 'It is 42.' })
      .add('StepCompleted', { stepIndex: 2, usage: { ...USAGE, totalTokens: 5, costUsd: 0.25 } });
    for (const e of s.events) builder.add(e); // the first six again: ignored by seq
    const m = builder.snapshot();
    expect(m.text).toBe('Let me compute. It is 42.');
    expect(m.steps.map((st) => [st.index, st.type, st.toolName, st.text])).toEqual([
      [0, 'MODEL_CALL', null, 'Let me compute. '],
      [1, 'TOOL_CALL', 'calculator', ''],
      [2, 'MODEL_CALL', null, 'It is 42.'],
    ]);
    expect(m.toolCalls[0]).toMatchObject({ output: '{"result":42}', isError: false, status: 'completed' });
    // Until RunCompleted, usage is the sum of the finished steps.
    expect(m.usage).toMatchObject({ totalTokens: 15, costUsd: 0.75 });
    expect(m.done).toBe(false);
    // The earlier snapshot did not move.
    expect(mid.text).toBe('Let me compute. ');
    expect(mid.toolCalls[0].status).toBe('streaming');
  });

  it('keeps a pending action until the run moves on, and ends on RunFailed or RunCancelled', () => {
    const s = new EventScript()
      .add('RunStatusChanged', { status: 'REQUIRES_ACTION', previousStatus: 'IN_PROGRESS' })
      .add('RequiresAction', { toolCalls: [{ id: 'call_c', name: 'confirm', arguments: '{}' }] });
    const waiting = foldRunEvents(s.events);
    expect(waiting.status).toBe('REQUIRES_ACTION');
    expect(waiting.requiredAction).toEqual({ toolCalls: [{ id: 'call_c', name: 'confirm', arguments: '{}' }] });

    s.add('RunStatusChanged', { status: 'QUEUED', previousStatus: 'REQUIRES_ACTION' });
    expect(foldRunEvents(s.events).requiredAction).toBeNull();

    const failed = foldRunEvents(new EventScript().add('RunFailed', { error: { code: 'RUN_TIMEOUT', message: 'too slow' } }).events);
    expect(failed).toMatchObject({ status: 'FAILED', error: { code: 'RUN_TIMEOUT', message: 'too slow' }, done: true });
    const cancelled = foldRunEvents(new EventScript().add('RunCancelled', {}).events);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', done: true, error: null });
  });

  it('starts from any seq (a stream opened with `after`) and ignores what it already folded', () => {
    const all = EventScript.answer(['a', 'b', 'c']).events;
    const builder = new MessageBuilder();
    for (const e of all.slice(4)) builder.add(e);
    builder.add(all[5]);
    expect(builder.snapshot()).toMatchObject({ text: 'bc', lastSeq: all.length, done: true });
  });
});
