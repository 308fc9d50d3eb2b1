import { now } from '../support/fake-openai';
import { collect } from '../support/parley';
import { RUN_EVENTS } from './run-helpers';
import { costOf, expectWellFormed, sentMessages, shape, startHarness, textOf, type Harness } from './fake-run-harness';

/** Tool errors, step and token limits, client-tool edge cases, cancel and ownership, on the in-memory queue and log. */
describe('runs on an OpenAI-compatible upstream: tools, limits and ownership (memory queue and log)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.stop());
  beforeEach(() => h.fake.reset());
  afterEach(() => expect(h.fake.pending()).toBe(0));

  /** Sends "Go on" on the branch and checks the upstream got exactly `history` before it (no unanswered tool_calls). */
  async function expectContinuesWith(conversationId: string, history: { role: string; content: string }[]): Promise<void> {
    const next = await h.send(conversationId, 'Go on');
    expectWellFormed(await h.watch(next.run.id).done, next.run.id, 'RunCompleted');
    expect(sentMessages(h.fake, 1)).toEqual([...history, { role: 'user', content: 'Go on' }]);
  }

  it('turns broken tool calls into error results the model sees, and the run goes on', async () => {
    h.fake.enqueue(
      {
        kind: 'stream',
        toolCalls: [
          { id: 'call_json', name: 'calculator', argumentsChunks: ['{"expression": "1+', '}'] },
          { id: 'call_schema', name: 'calculator', argumentsChunks: ['{"expr":"1+1"}'] },
          { id: 'call_unknown', name: 'rm_rf', argumentsChunks: ['{}'] },
        ],
      },
      { kind: 'stream', text: ['Sorry, ', 'my tool calls were broken.'] },
    );
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Compute 1+1', { tools: ['calculator'] });
    const events = await h.watch(run.id).done;
    expectWellFormed(events, run.id, 'RunCompleted');
    const toolSteps = ['call_json', 'call_schema', 'call_unknown'].flatMap((id, i) => [
      `StepStarted:TOOL_CALL:${i === 2 ? 'rm_rf' : 'calculator'}`, `ToolCallCompleted:${id}`, 'StepCompleted', 'MessageCompleted:TOOL',
    ]);
    expect(shape(events)).toEqual([
      'RunStatusChanged:QUEUED', 'RunStatusChanged:IN_PROGRESS', 'StepStarted:MODEL_CALL',
      'ToolCallStarted:call_json', 'ToolCallArgumentsDelta:call_json', 'ToolCallStarted:call_schema', 'ToolCallArgumentsDelta:call_schema',
      'ToolCallStarted:call_unknown', 'ToolCallArgumentsDelta:call_unknown', 'StepCompleted', 'MessageCompleted:ASSISTANT',
      ...toolSteps,
      'StepStarted:MODEL_CALL', 'TokenDelta', 'StepCompleted', 'MessageCompleted:ASSISTANT', 'RunStatusChanged:COMPLETED', 'RunCompleted:COMPLETED',
    ]);
    const results = events.filter((e) => e.__typename === 'ToolCallCompleted');
    expect(results.every((e) => e.isError === true)).toBe(true);
    expect(results[0].output).toMatch(/^Invalid arguments for calculator: not valid JSON/);
    expect(results[1].output).toMatch(/^Invalid arguments for calculator: .*expression/);
    expect(results[2].output).toBe('Tool "rm_rf" is not available to this run');

    const stored = await h.run(run.id);
    expect(stored).toMatchObject({ status: 'COMPLETED', error: null });
    expect(stored.steps.map((s) => [s.type, s.status, s.toolCallId, s.error?.code ?? null])).toEqual([
      ['MODEL_CALL', 'COMPLETED', null, null],
      ['TOOL_CALL', 'FAILED', 'call_json', 'TOOL_ERROR'],
      ['TOOL_CALL', 'FAILED', 'call_schema', 'TOOL_ERROR'],
      ['TOOL_CALL', 'FAILED', 'call_unknown', 'TOOL_ERROR'],
      ['MODEL_CALL', 'COMPLETED', null, null],
    ]);
    const branch = await h.branch(conversationId);
    expect(branch.map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'TOOL', 'TOOL', 'TOOL', 'ASSISTANT']);
    expect(branch[1].toolCalls.map((c) => c.arguments)).toEqual(['{"expression": "1+}', '{"expr":"1+1"}', '{}']);
    expect(branch.slice(2, 5).map((m) => [m.toolCallId, m.content])).toEqual(results.map((e) => [e.toolCallId, e.output]));
    expect(branch[5].content).toBe('Sorry, my tool calls were broken.');
    const second = sentMessages(h.fake, 1);
    expect(second.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id, m.content])).toEqual(results.map((e) => [e.toolCallId, e.output]));
  });

  it('stops INCOMPLETE with MAX_STEPS when the step limit is reached', async () => {
    h.fake.enqueue({
      kind: 'stream',
      toolCalls: [{ id: 'call_1', name: 'calculator', argumentsChunks: ['{"expression":"1+1"}'] }],
      usage: { promptTokens: 50, completionTokens: 5 },
    });
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Loop forever', { tools: ['calculator'], maxSteps: 2 });
    const events = await h.watch(run.id).done;
    expectWellFormed(events, run.id, 'RunCompleted');
    expect(shape(events).slice(-6)).toEqual([
      'StepStarted:TOOL_CALL:calculator', 'ToolCallCompleted:call_1', 'StepCompleted', 'MessageCompleted:TOOL',
      'RunStatusChanged:INCOMPLETE', 'RunCompleted:INCOMPLETE',
    ]);
    expect(events.at(-1)!.usage).toMatchObject({ promptTokens: 50, completionTokens: 5, totalTokens: 55 });
    const stored = await h.run(run.id);
    expect(stored).toMatchObject({ status: 'INCOMPLETE', error: { code: 'MAX_STEPS' }, usage: { totalTokens: 55 } });
    expect(stored.costUsd).toBeCloseTo(costOf({ prompt: 50, completion: 5 }), 12);
    expect(stored.steps.map((s) => s.type)).toEqual(['MODEL_CALL', 'TOOL_CALL']);
    expect(h.fake.requests).toHaveLength(1);
    expect((await h.branch(conversationId)).map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'TOOL']);
  });

  it('never runs past maxSteps on parallel tool calls: a turn whose calls do not all fit runs none of them', async () => {
    h.fake.enqueue(
      {
        kind: 'stream',
        text: ['Adding both. '],
        toolCalls: [
          { id: 'call_a', name: 'calculator', argumentsChunks: ['{"expression":"1+1"}'] },
          { id: 'call_b', name: 'calculator', argumentsChunks: ['{"expression":"2+2"}'] },
        ],
        usage: { promptTokens: 40, completionTokens: 9 },
      },
      { kind: 'stream', text: ['ok'] },
    );
    const conversationId = await h.conversation();
    // One model step plus two tool steps would make three.
    const { run } = await h.send(conversationId, 'Add 1+1 and 2+2', { tools: ['calculator'], maxSteps: 2 });
    const events = await h.watch(run.id).done;
    expectWellFormed(events, run.id, 'RunCompleted');
    expect(events.some((e) => e.__typename === 'StepStarted' && e.stepType === 'TOOL_CALL')).toBe(false);
    expect(shape(events).slice(-4)).toEqual(['StepCompleted', 'MessageCompleted:ASSISTANT', 'RunStatusChanged:INCOMPLETE', 'RunCompleted:INCOMPLETE']);
    const stored = await h.run(run.id);
    expect(stored).toMatchObject({ status: 'INCOMPLETE', error: { code: 'MAX_STEPS' }, usage: { totalTokens: 49 } });
    expect(stored.steps.map((s) => s.type)).toEqual(['MODEL_CALL']);
    expect(stored.responseMessage).toMatchObject({ content: 'Adding both. ', status: 'INCOMPLETE' });
    expect(h.fake.requests).toHaveLength(1);

    // The branch holds no unanswered tool calls, so it can be continued.
    await expectContinuesWith(conversationId, [
      { role: 'user', content: 'Add 1+1 and 2+2' },
      { role: 'assistant', content: 'Adding both. ' },
    ]);
  });

  it('ends INCOMPLETE with MAX_TOKENS on finish_reason "length", keeping the cut answer INCOMPLETE', async () => {
    h.fake.enqueue({ kind: 'stream', text: ['The answer ', 'is forty'], finishReason: 'length', usage: { promptTokens: 12, completionTokens: 7 } });
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'What is 6*7?', { maxTokens: 7, temperature: 0.3 });
    const events = await h.watch(run.id).done;
    expectWellFormed(events, run.id, 'RunCompleted');
    expect(shape(events)).toEqual([
      'RunStatusChanged:QUEUED', 'RunStatusChanged:IN_PROGRESS', 'StepStarted:MODEL_CALL', 'TokenDelta',
      'StepCompleted', 'MessageCompleted:ASSISTANT', 'RunStatusChanged:INCOMPLETE', 'RunCompleted:INCOMPLETE',
    ]);
    expect(h.fake.requests[0].body).toMatchObject({ max_tokens: 7, temperature: 0.3 });
    const stored = await h.run(run.id);
    expect(stored).toMatchObject({ status: 'INCOMPLETE', error: { code: 'MAX_TOKENS' }, usage: { promptTokens: 12, completionTokens: 7 } });
    expect(stored.costUsd).toBeCloseTo(costOf({ prompt: 12, completion: 7 }), 12);
    expect(stored.responseMessage).toMatchObject({ content: 'The answer is forty', status: 'INCOMPLETE' });
  });

  it('does not keep tool calls cut by the token limit: the next turn sends no unanswered tool_calls', async () => {
    h.fake.enqueue(
      { kind: 'stream', text: ['Let me'], toolCalls: [{ id: 'call_cut', name: 'calculator', argumentsChunks: ['{"expres'] }], finishReason: 'length' },
      { kind: 'stream', text: ['ok'] },
    );
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Compute', { tools: ['calculator'], maxTokens: 3 });
    const events = await h.watch(run.id).done;
    expect(shape(events).slice(-2)).toEqual(['RunStatusChanged:INCOMPLETE', 'RunCompleted:INCOMPLETE']);
    expect(events.some((e) => e.__typename === 'StepStarted' && e.stepType === 'TOOL_CALL')).toBe(false);
    const stored = await h.run(run.id);
    expect(stored.responseMessage).toMatchObject({ content: 'Let me', status: 'INCOMPLETE' });
    expect((await h.branch(conversationId))[1].toolCalls).toEqual([]);

    await expectContinuesWith(conversationId, [
      { role: 'user', content: 'Compute' },
      { role: 'assistant', content: 'Let me' },
    ]);
  });

  it('resumes a paused run once when two clients submit tool outputs at the same time', async () => {
    h.fake.enqueue(
      { kind: 'stream', toolCalls: [{ id: 'call_c', name: 'confirm', argumentsChunks: ['{}'] }] },
      { kind: 'stream', text: ['Confirmed.'] },
    );
    const clientTools = [{ name: 'confirm', description: 'Ask the user', parameters: { type: 'object', properties: {} } }];
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Delete it?', { clientTools });
    const watch = h.watch(run.id);
    await watch.waitFor((es) => es.some((e) => e.__typename === 'RequiresAction'));
    const SUBMIT = 'mutation($input: SubmitToolOutputsInput!) { submitToolOutputs(input: $input) { run { id } } }';
    const input = { runId: run.id, toolOutputs: [{ toolCallId: 'call_c', output: 'yes' }] };
    const results = await Promise.all([1, 2].map(() => h.p.gql(SUBMIT, { input }, h.key)));
    expect(results.filter((r) => r.data?.submitToolOutputs)).toHaveLength(1);
    expect(results.filter((r) => r.errors).map((r) => r.errors![0].extensions?.code)).toEqual(['CONFLICT']);
    const events = await watch.done;
    expectWellFormed(events, run.id, 'RunCompleted');
    expect(textOf(events)).toBe('Confirmed.');
    expect((await h.branch(conversationId)).map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'TOOL', 'ASSISTANT']);
    expect(sentMessages(h.fake, 1).filter((m) => m.role === 'tool')).toHaveLength(1);
  });

  it('cancels a paused run at once, and the next turn sends no unanswered tool_calls', async () => {
    h.fake.enqueue({ kind: 'stream', text: ['Asking.'], toolCalls: [{ id: 'call_p', name: 'confirm', argumentsChunks: ['{}'] }] }, { kind: 'stream', text: ['ok'] });
    const clientTools = [{ name: 'confirm', description: 'Ask the user', parameters: { type: 'object', properties: {} } }];
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Delete it?', { clientTools });
    const watch = h.watch(run.id);
    await watch.waitFor((es) => es.some((e) => e.__typename === 'RequiresAction'));
    const res = await h.p.gql<{ cancelRun: { run: { status: string } } }>('mutation($input: CancelRunInput!) { cancelRun(input: $input) { run { status } } }', { input: { runId: run.id } }, h.key);
    expect(res.data?.cancelRun.run.status).toBe('CANCELLED');
    const events = await watch.done;
    expectWellFormed(events, run.id, 'RunCancelled');
    expect(shape(events).slice(-3)).toEqual(['RunStatusChanged:REQUIRES_ACTION', 'RunStatusChanged:CANCELLED', 'RunCancelled']);
    expect(events.at(-2)!.previousStatus).toBe('REQUIRES_ACTION');
    expect(await h.run(run.id)).toMatchObject({ status: 'CANCELLED', pendingToolCalls: [] });

    const next = await h.send(conversationId, 'Never mind, say ok');
    expectWellFormed(await h.watch(next.run.id).done, next.run.id, 'RunCompleted');
    const sent = sentMessages(h.fake, 1);
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(sent[1]).toEqual({ role: 'assistant', content: 'Asking.' });
  });

  it('cancels while the upstream is silent mid-answer: the request is aborted within 100 ms', async () => {
    h.fake.enqueue({ kind: 'hang', afterChunks: 4, reasoning: ['Hmm.'], text: ['Par', 'tial'] });
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Think hard');
    const watch = h.watch(run.id);
    await watch.waitFor((es) => es.filter((e) => e.__typename === 'TokenDelta').length === 2);
    const cancelSentAt = now();
    await h.p.gql('mutation($input: CancelRunInput!) { cancelRun(input: $input) { run { id } } }', { input: { runId: run.id } }, h.key);
    const latencyMs = (await h.fake.waitForAbort(0)) - cancelSentAt;
    console.info(`cancel (upstream silent) → upstream abort: ${latencyMs.toFixed(1)} ms`);
    expect(latencyMs).toBeLessThan(100);
    const events = await watch.done;
    expectWellFormed(events, run.id, 'RunCancelled');
    expect(shape(events).slice(-6)).toEqual(['TokenDelta', 'RunStatusChanged:CANCELLING', 'StepCompleted', 'MessageCompleted:ASSISTANT', 'RunStatusChanged:CANCELLED', 'RunCancelled']);
    const stored = await h.run(run.id);
    expect(stored).toMatchObject({ status: 'CANCELLED', steps: [{ status: 'CANCELLED' }], responseMessage: { content: 'Partial', status: 'INCOMPLETE' } });
    expect((await h.branch(conversationId))[1]).toMatchObject({ role: 'ASSISTANT', reasoning: 'Hmm.', content: 'Partial', status: 'INCOMPLETE' });
  });

  it('deleting a conversation mid-run ends its run for subscribers and stops the upstream request', async () => {
    h.fake.enqueue({ kind: 'hang', afterChunks: 3, text: ['Half ', 'way'] });
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Take your time');
    const watch = h.watch(run.id);
    await watch.waitFor((es) => es.filter((e) => e.__typename === 'TokenDelta').length === 2);
    const deleted = await h.p.gql('mutation($input: DeleteConversationInput!) { deleteConversation(input: $input) { deletedConversationId } }', { input: { conversationId } }, h.key);
    expect(deleted.errors).toBeUndefined();
    await h.fake.waitForAbort(0);
    const events = await watch.done;
    expect(shape(events).slice(-2)).toEqual(['RunStatusChanged:CANCELLED', 'RunCancelled']);
    expect(events.at(-2)).toMatchObject({ previousStatus: 'IN_PROGRESS' });
    const gone = await h.p.gql('query($id: ID!) { run(id: $id) { id } }', { id: run.id }, h.key);
    expect(gone.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('deleting the agent mid-run keeps the answer: its messages simply have no agent', async () => {
    h.fake.enqueue({ kind: 'stream', text: Array.from({ length: 6 }, (_, i) => `t${i} `), delayMs: 40 });
    const agent = await h.p.gql<{ createAgent: { agent: { id: string } } }>('mutation { createAgent(input: { name: "brief", model: "fake/gpt-test" }) { agent { id } } }', {}, h.key);
    const agentId = agent.data!.createAgent.agent.id;
    const conversationId = await h.conversation();
    const sent = await h.p.gql<{ sendMessage: { run: { id: string } } }>('mutation($input: SendMessageInput!) { sendMessage(input: $input) { run { id } } }', { input: { conversationId, content: 'Hi', agentId } }, h.key);
    const runId = sent.data!.sendMessage.run.id;
    const watch = h.watch(runId);
    await watch.waitFor((es) => es.some((e) => e.__typename === 'TokenDelta'));
    const removed = await h.p.gql('mutation($input: DeleteAgentInput!) { deleteAgent(input: $input) { deletedAgentId } }', { input: { agentId } }, h.key);
    expect(removed.errors).toBeUndefined();
    expectWellFormed(await watch.done, runId, 'RunCompleted');
    const stored = await h.p.gql<{ run: { status: string; responseMessage: { content: string; agent: unknown } } }>('query($id: ID!) { run(id: $id) { status responseMessage { content agent { id } } } }', { id: runId }, h.key);
    expect(stored.data!.run).toEqual({ status: 'COMPLETED', responseMessage: { content: 't0 t1 t2 t3 t4 t5 ', agent: null } });
  });

  it("hides a run from another user: runEvents, run, cancelRun and submitToolOutputs are NOT_FOUND", async () => {
    h.fake.enqueue({ kind: 'stream', text: Array.from({ length: 10 }, (_, i) => `t${i} `), delayMs: 20 });
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Mine');
    const watch = h.watch(run.id);
    await watch.waitFor((es) => es.some((e) => e.__typename === 'TokenDelta'));
    const other = await h.p.newUser();

    const items = await collect(h.p.ws(other.apiKey), RUN_EVENTS, { runId: run.id, after: 0 }, () => false);
    expect(items).toHaveLength(1);
    expect(items[0].data ?? undefined).toBeUndefined();
    expect(items[0].errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const ask = (query: string, variables: Record<string, unknown>) => h.p.gql(query, variables, other.apiKey).then((r) => r.errors?.[0].extensions?.code);
    expect(await ask('query($id: ID!) { run(id: $id) { id } }', { id: run.id })).toBe('NOT_FOUND');
    expect(await ask('mutation($input: CancelRunInput!) { cancelRun(input: $input) { run { id } } }', { input: { runId: run.id } })).toBe('NOT_FOUND');
    expect(await ask('mutation($input: SubmitToolOutputsInput!) { submitToolOutputs(input: $input) { run { id } } }', { input: { runId: run.id, toolOutputs: [] } })).toBe('NOT_FOUND');
    expect(await ask('mutation($input: StartRunInput!) { startRun(input: $input) { run { id } } }', { input: { conversationId } })).toBe('NOT_FOUND');

    // The owner's run is untouched by any of it.
    const events = await watch.done;
    expectWellFormed(events, run.id, 'RunCompleted');
    expect(events.some((e) => e.status === 'CANCELLING')).toBe(false);
    expect((await h.run(run.id)).status).toBe('COMPLETED');
  });
});
