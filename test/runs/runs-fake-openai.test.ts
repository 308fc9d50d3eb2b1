import { now } from '../support/fake-openai';
import { MODEL, costOf, expectWellFormed, sentMessages, shape, startHarness, textOf, type Harness } from './fake-run-harness';

/**
 * Runs against the scripted OpenAI-compatible server, with the BullMQ queue,
 * the Redis event log and Redis cancel signals in-process.
 */
describe('runs on an OpenAI-compatible upstream (Redis queue, log and signals)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ redis: true });
  });
  afterAll(() => h?.stop());
  beforeEach(() => h.fake.reset());
  afterEach(() => expect(h.fake.pending()).toBe(0));

  it('streams reasoning, text and two parallel tool calls, runs the tools, answers, and bills from the catalog', async () => {
    h.fake.enqueue(
      {
        kind: 'stream',
        reasoning: ['Two ', 'sums.'],
        text: ['Let me ', 'compute.'],
        toolCalls: [
          { id: 'call_a', name: 'calculator', argumentsChunks: ['{"expression":', '"6*7"}'] },
          { id: 'call_b', name: 'calculator', argumentsChunks: ['{"expr', 'ession":"2^10"}'] },
        ],
        interleaveToolCalls: true,
        usage: { promptTokens: 120, cachedTokens: 20, completionTokens: 30, reasoningTokens: 8 },
      },
      { kind: 'stream', text: ['6*7 = 42', ' and 2^10 = 1024.'], usage: { promptTokens: 200, completionTokens: 12 } },
    );
    const conversationId = await h.conversation();
    const { run, message } = await h.send(conversationId, 'What are 6*7 and 2^10?', { tools: ['calculator'] });
    expect(run).toMatchObject({ status: 'QUEUED', model: MODEL });
    const events = await h.watch(run.id).done;

    expectWellFormed(events, run.id, 'RunCompleted');
    expect(shape(events)).toEqual([
      'RunStatusChanged:QUEUED', 'RunStatusChanged:IN_PROGRESS',
      'StepStarted:MODEL_CALL', 'ReasoningDelta', 'TokenDelta',
      'ToolCallStarted:call_a', 'ToolCallStarted:call_b',
      'ToolCallArgumentsDelta:call_a', 'ToolCallArgumentsDelta:call_b', 'ToolCallArgumentsDelta:call_a', 'ToolCallArgumentsDelta:call_b',
      'StepCompleted', 'MessageCompleted:ASSISTANT',
      'StepStarted:TOOL_CALL:calculator', 'ToolCallCompleted:call_a', 'StepCompleted', 'MessageCompleted:TOOL',
      'StepStarted:TOOL_CALL:calculator', 'ToolCallCompleted:call_b', 'StepCompleted', 'MessageCompleted:TOOL',
      'StepStarted:MODEL_CALL', 'TokenDelta', 'StepCompleted', 'MessageCompleted:ASSISTANT',
      'RunStatusChanged:COMPLETED', 'RunCompleted:COMPLETED',
    ]);
    expect(textOf(events, 'ReasoningDelta')).toBe('Two sums.');
    expect(textOf(events)).toBe('Let me compute.6*7 = 42 and 2^10 = 1024.');
    const argsOf = (id: string) => events.filter((e) => e.__typename === 'ToolCallArgumentsDelta' && e.toolCallId === id).map((e) => e.delta).join('');
    expect(argsOf('call_a')).toBe('{"expression":"6*7"}');
    expect(argsOf('call_b')).toBe('{"expression":"2^10"}');
    const completed = events.filter((e) => e.__typename === 'ToolCallCompleted');
    expect(completed.map((e) => [e.toolCallId, e.isError, JSON.parse(e.output!).result])).toEqual([['call_a', false, 42], ['call_b', false, 1024]]);

    const cost = costOf({ prompt: 120, cached: 20, completion: 30 }) + costOf({ prompt: 200, completion: 12 });
    const final = events.at(-1)!;
    expect(final.usage).toMatchObject({ promptTokens: 320, completionTokens: 42, reasoningTokens: 8, totalTokens: 362 });
    expect(final.usage!.costUsd).toBeCloseTo(cost, 12);
    expect(events.find((e) => e.__typename === 'StepCompleted')!.usage!.costUsd).toBeCloseTo(costOf({ prompt: 120, cached: 20, completion: 30 }), 12);

    const stored = await h.run(run.id);
    expect(stored).toMatchObject({ status: 'COMPLETED', error: null, pendingToolCalls: [] });
    expect(stored.usage).toMatchObject({ promptTokens: 320, cachedTokens: 20, completionTokens: 42, reasoningTokens: 8, totalTokens: 362 });
    expect(stored.costUsd).toBeCloseTo(cost, 12);
    expect(stored.usage.costUsd).toBeCloseTo(cost, 12);
    expect(stored.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
    expect(stored.steps.map((s) => [s.index, s.type, s.status, s.toolCallId])).toEqual([
      [0, 'MODEL_CALL', 'COMPLETED', null],
      [1, 'TOOL_CALL', 'COMPLETED', 'call_a'],
      [2, 'TOOL_CALL', 'COMPLETED', 'call_b'],
      [3, 'MODEL_CALL', 'COMPLETED', null],
    ]);

    const branch = await h.branch(conversationId);
    expect(branch.map((m) => [m.role, m.status])).toEqual([['USER', 'COMPLETE'], ['ASSISTANT', 'COMPLETE'], ['TOOL', 'COMPLETE'], ['TOOL', 'COMPLETE'], ['ASSISTANT', 'COMPLETE']]);
    expect(branch[0].id).toBe(message.id);
    expect(branch[1]).toMatchObject({
      content: 'Let me compute.', reasoning: 'Two sums.', model: MODEL, run: { id: run.id },
      toolCalls: [
        { id: 'call_a', name: 'calculator', arguments: '{"expression":"6*7"}' },
        { id: 'call_b', name: 'calculator', arguments: '{"expression":"2^10"}' },
      ],
    });
    expect(branch[2]).toMatchObject({ toolCallId: 'call_a', toolCalls: [] });
    expect(JSON.parse(branch[2].content).result).toBe(42);
    expect(branch[3].toolCallId).toBe('call_b');
    expect(branch[4]).toMatchObject({ content: '6*7 = 42 and 2^10 = 1024.', reasoning: null, toolCalls: [] });
    expect(stored.responseMessage?.id).toBe(branch[4].id);

    // What went upstream: the catalog's upstream name, usage requested, the tool offered, then the tool turn replayed.
    expect(h.fake.requests).toHaveLength(2);
    const first = h.fake.requests[0].body;
    expect(first).toMatchObject({ model: 'gpt-test', stream: true, stream_options: { include_usage: true } });
    expect((first.tools as { function: { name: string } }[]).map((t) => t.function.name)).toEqual(['calculator']);
    expect(sentMessages(h.fake, 0)).toEqual([{ role: 'user', content: 'What are 6*7 and 2^10?' }]);
    const second = sentMessages(h.fake, 1);
    expect(second.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'tool']);
    expect(second[1].tool_calls!.map((c) => [c.id, c.function.name, c.function.arguments])).toEqual([
      ['call_a', 'calculator', '{"expression":"6*7"}'],
      ['call_b', 'calculator', '{"expression":"2^10"}'],
    ]);
    expect(second.slice(2).map((m) => m.tool_call_id)).toEqual(['call_a', 'call_b']);
    expect(second[2].content).toBe(branch[2].content);
  });

  it('pauses on a client tool call, rejects wrong outputs, and resumes with the tool message sent upstream', async () => {
    h.fake.enqueue(
      { kind: 'stream', text: ['Checking.'], toolCalls: [{ id: 'call_loc', name: 'get_location', argumentsChunks: ['{"precise":', 'true}'] }] },
      { kind: 'stream', text: ['You are in ', 'Lyon.'] },
    );
    const clientTools = [{ name: 'get_location', description: 'Where the user is', parameters: { type: 'object', properties: { precise: { type: 'boolean' } } } }];
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Where am I?', { clientTools });
    const watch = h.watch(run.id);
    await watch.waitFor((es) => es.some((e) => e.__typename === 'RunStatusChanged' && e.status === 'REQUIRES_ACTION'));
    expect(shape(watch.events)).toEqual([
      'RunStatusChanged:QUEUED', 'RunStatusChanged:IN_PROGRESS', 'StepStarted:MODEL_CALL', 'TokenDelta',
      'ToolCallStarted:call_loc', 'ToolCallArgumentsDelta:call_loc', 'StepCompleted', 'MessageCompleted:ASSISTANT',
      'ToolCallCompleted:call_loc', 'RequiresAction', 'RunStatusChanged:REQUIRES_ACTION',
    ]);
    const call = { id: 'call_loc', name: 'get_location', arguments: '{"precise":true}' };
    expect(watch.events.find((e) => e.__typename === 'RequiresAction')!.toolCalls).toEqual([call]);
    expect(watch.events.find((e) => e.__typename === 'ToolCallCompleted')).toMatchObject({ output: null });
    const paused = await h.run(run.id);
    expect(paused).toMatchObject({ status: 'REQUIRES_ACTION', pendingToolCalls: [call] });
    expect(h.fake.requests).toHaveLength(1);
    expect((h.fake.requests[0].body.tools as { function: { name: string; parameters: unknown } }[])[0].function)
      .toEqual({ name: 'get_location', description: 'Where the user is', parameters: clientTools[0].parameters });

    const SUBMIT = 'mutation($input: SubmitToolOutputsInput!) { submitToolOutputs(input: $input) { run { id status } } }';
    const submit = (toolOutputs: { toolCallId: string; output: string }[]) => h.p.gql<{ submitToolOutputs: { run: { status: string } } }>(SUBMIT, { input: { runId: run.id, toolOutputs } }, h.key);
    const wrong = await submit([{ toolCallId: 'call_nope', output: '{}' }]);
    expect(wrong.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await submit([])).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const extra = await submit([{ toolCallId: 'call_loc', output: '{}' }, { toolCallId: 'call_nope', output: '{}' }]);
    expect(extra.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await h.run(run.id)).status).toBe('REQUIRES_ACTION');
    expect(h.fake.requests).toHaveLength(1);

    const ok = await submit([{ toolCallId: 'call_loc', output: '{"city":"Lyon"}' }]);
    expect(ok.errors).toBeUndefined();
    expect(['QUEUED', 'IN_PROGRESS', 'COMPLETED']).toContain(ok.data!.submitToolOutputs.run.status);
    const events = await watch.done;
    expectWellFormed(events, run.id, 'RunCompleted');
    expect(shape(events).slice(11)).toEqual([
      'RunStatusChanged:QUEUED', 'RunStatusChanged:IN_PROGRESS', 'StepStarted:MODEL_CALL', 'TokenDelta',
      'StepCompleted', 'MessageCompleted:ASSISTANT', 'RunStatusChanged:COMPLETED', 'RunCompleted:COMPLETED',
    ]);
    // A late subscriber replays the same log from the start.
    expect((await h.watch(run.id).done).map((e) => e.seq)).toEqual(events.map((e) => e.seq));

    const second = sentMessages(h.fake, 1);
    expect(second.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(second[1].tool_calls!.map((c) => c.id)).toEqual(['call_loc']);
    expect(second[2]).toMatchObject({ role: 'tool', tool_call_id: 'call_loc', content: '{"city":"Lyon"}' });

    const stored = await h.run(run.id);
    expect(stored).toMatchObject({ status: 'COMPLETED', pendingToolCalls: [], error: null });
    expect(stored.steps.map((s) => [s.index, s.type, s.status])).toEqual([[0, 'MODEL_CALL', 'COMPLETED'], [1, 'MODEL_CALL', 'COMPLETED']]);
    const branch = await h.branch(conversationId);
    expect(branch.map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'TOOL', 'ASSISTANT']);
    expect(branch[1]).toMatchObject({ content: 'Checking.', toolCalls: [call] });
    expect(branch[2]).toMatchObject({ toolCallId: 'call_loc', content: '{"city":"Lyon"}', status: 'COMPLETE' });
    expect(branch[3]).toMatchObject({ content: 'You are in Lyon.', status: 'COMPLETE', run: { id: run.id } });
    expect((await submit([{ toolCallId: 'call_loc', output: '{}' }])).errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  it('cancels mid-stream: the upstream request is aborted at once and the partial answer is kept INCOMPLETE', async () => {
    // Chunks every 5 ms: the fake notices a closed connection on its next write, so this keeps its clock honest.
    h.fake.enqueue({ kind: 'stream', text: Array.from({ length: 1000 }, (_, i) => `w${i} `), delayMs: 5 });
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Tell me a long story');
    const watch = h.watch(run.id);
    await watch.waitFor((es) => es.filter((e) => e.__typename === 'TokenDelta').length >= 3);

    const cancelSentAt = now();
    const cancelled = await h.p.gql<{ cancelRun: { run: { status: string } } }>(
      'mutation($input: CancelRunInput!) { cancelRun(input: $input) { run { id status } } }', { input: { runId: run.id } }, h.key);
    expect(cancelled.errors).toBeUndefined();
    expect(['CANCELLING', 'CANCELLED']).toContain(cancelled.data!.cancelRun.run.status);
    const abortedAt = await h.fake.waitForAbort(0);
    const latencyMs = abortedAt - cancelSentAt;
    console.info(`cancel (tokens flowing) → upstream abort: ${latencyMs.toFixed(1)} ms`);
    expect(latencyMs).toBeLessThan(100);

    const events = await watch.done;
    expectWellFormed(events, run.id, 'RunCancelled');
    expect(shape(events).filter((l) => l !== 'TokenDelta')).toEqual([
      'RunStatusChanged:QUEUED', 'RunStatusChanged:IN_PROGRESS', 'StepStarted:MODEL_CALL', 'RunStatusChanged:CANCELLING',
      'StepCompleted', 'MessageCompleted:ASSISTANT', 'RunStatusChanged:CANCELLED', 'RunCancelled',
    ]);
    const cancelledEvent = events.find((e) => e.__typename === 'RunStatusChanged' && e.status === 'CANCELLED');
    expect(cancelledEvent?.previousStatus).toBe('CANCELLING');
    const streamed = textOf(events);
    expect(streamed.length).toBeGreaterThan(0);
    expect(streamed.split(' ').length - 1).toBeLessThan(1000);
    expect(h.fake.requests).toHaveLength(1);
    expect(h.fake.requests[0].finishedAt).toBeUndefined();

    const stored = await h.run(run.id);
    expect(stored).toMatchObject({ status: 'CANCELLED', error: null, steps: [{ index: 0, type: 'MODEL_CALL', status: 'CANCELLED' }] });
    expect(stored.responseMessage).toMatchObject({ status: 'INCOMPLETE', content: streamed });
    const branch = await h.branch(conversationId);
    expect(branch.map((m) => [m.role, m.status])).toEqual([['USER', 'COMPLETE'], ['ASSISTANT', 'INCOMPLETE']]);
    expect(branch[1].content).toBe(streamed);
    const again = await h.p.gql('mutation($input: CancelRunInput!) { cancelRun(input: $input) { run { id } } }', { input: { runId: run.id } }, h.key);
    expect(again.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  it('allows one active run per branch: racing startRuns, sends on a busy leaf and racing sends get CONFLICT naming the active run', async () => {
    h.fake.enqueue({ kind: 'stream', text: Array.from({ length: 10 }, (_, i) => `t${i} `), delayMs: 30 });
    const conversationId = await h.conversation();
    const appended = await h.p.gql<{ appendMessage: { message: { id: string } } }>(
      'mutation($input: AppendMessageInput!) { appendMessage(input: $input) { message { id } } }',
      { input: { conversationId, role: 'USER', content: 'Answer me once' } }, h.key);
    const messageId = appended.data!.appendMessage.message.id;
    const START = 'mutation($input: StartRunInput!) { startRun(input: $input) { run { id status } } }';
    const results = await Promise.all([1, 2].map(() => h.p.gql<{ startRun: { run: { id: string } } }>(START, { input: { conversationId, messageId } }, h.key)));
    const winners = results.filter((r) => r.data?.startRun);
    const losers = results.filter((r) => r.errors);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    const activeRunId = winners[0].data!.startRun.run.id;
    expect(losers[0].errors![0].extensions).toMatchObject({ code: 'CONFLICT', activeRunId });
    expect(losers[0].errors![0].message).toContain(activeRunId);

    const watch = h.watch(activeRunId);
    await watch.waitFor((es) => es.some((e) => e.__typename === 'TokenDelta'));
    const busy = await h.p.gql('mutation($input: SendMessageInput!) { sendMessage(input: $input) { run { id } } }', { input: { conversationId, content: 'Hurry up' } }, h.key);
    expect(busy.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', activeRunId });
    expect(busy.errors?.[0].message).toContain(activeRunId);
    const restart = await h.p.gql(START, { input: { conversationId } }, h.key);
    expect(restart.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', activeRunId });

    expectWellFormed(await watch.done, activeRunId, 'RunCompleted');
    expect(h.fake.requests).toHaveLength(1);
    expect((await h.branch(conversationId)).map((m) => m.role)).toEqual(['USER', 'ASSISTANT']);

    // Concurrent sends on the idle leaf: exactly one starts a run, the others are told which.
    h.fake.enqueue({ kind: 'stream', text: ['again'], delayMs: 20 });
    const SEND_RUN = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { run { id } } }';
    const sends = await Promise.all([1, 2, 3].map(() => h.p.gql<{ sendMessage: { run: { id: string } } }>(SEND_RUN, { input: { conversationId, content: 'Now again' } }, h.key)));
    const sent = sends.filter((r) => r.data?.sendMessage);
    expect(sent).toHaveLength(1);
    const nextRunId = sent[0].data!.sendMessage.run.id;
    for (const r of sends.filter((x) => x.errors)) expect(r.errors![0].extensions).toMatchObject({ code: 'CONFLICT', activeRunId: nextRunId });
    expectWellFormed(await h.watch(nextRunId).done, nextRunId, 'RunCompleted');
    expect((await h.branch(conversationId)).map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'USER', 'ASSISTANT']);
  });
});
