import { MessageRole } from '../../src/modules/messages/message.entity';
import { toChatMessages } from '../../src/modules/runs/run-context';

describe('toChatMessages', () => {
  it('maps roles, tool calls and tool results, with the system prompt first', () => {
    const out = toChatMessages(
      [
        { role: MessageRole.USER, content: 'what is 2+2?' },
        { role: MessageRole.ASSISTANT, content: '', toolCalls: [{ id: 'c1', name: 'calculator', arguments: '{"expression":"2+2"}' }] },
        { role: MessageRole.TOOL, content: '4', toolCallId: 'c1' },
      ],
      'be brief',
    );
    expect(out).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'what is 2+2?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'calculator', arguments: '{"expression":"2+2"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '4' },
    ]);
  });

  it('keeps a branch-level SYSTEM message instead of adding the run prompt', () => {
    const out = toChatMessages([{ role: MessageRole.SYSTEM, content: 'mine' }, { role: MessageRole.USER, content: 'hi' }], 'default');
    expect(out).toEqual([{ role: 'system', content: 'mine' }, { role: 'user', content: 'hi' }]);
  });

  it('drops tool calls no TOOL message answers (a cancelled pause, a cancel between tool steps)', () => {
    const call = (id: string) => ({ id, name: 'calculator', arguments: '{}' });
    const out = toChatMessages([
      { role: MessageRole.USER, content: 'a' },
      { role: MessageRole.ASSISTANT, content: 'Asking.', toolCalls: [call('p1')] },
      { role: MessageRole.USER, content: 'b' },
      { role: MessageRole.ASSISTANT, content: '', toolCalls: [call('c1'), call('c2')] },
      { role: MessageRole.TOOL, content: '1', toolCallId: 'c1' },
      { role: MessageRole.USER, content: 'c' },
      { role: MessageRole.ASSISTANT, content: '', toolCalls: [call('x')] },
    ]);
    expect(out).toEqual([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'Asking.' },
      { role: 'user', content: 'b' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'calculator', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '1' },
      { role: 'user', content: 'c' },
      { role: 'assistant', content: '' },
    ]);
  });
});
