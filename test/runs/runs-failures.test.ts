import type { FakeScenario } from '../support/fake-openai';
import { expectWellFormed, shape, startHarness, textOf, type Ev, type Harness } from './fake-run-harness';

/**
 * Upstream failures, end to end over real HTTP: what is retried, what fails
 * the run (with which error), and what is kept of a broken answer. Redis mode.
 */
describe('runs on an OpenAI-compatible upstream: upstream failures (Redis queue, log and signals)', () => {
  let h: Harness;
  beforeAll(async () => {
    // A short idle timeout so a silent upstream fails fast; nothing else here pauses between chunks.
    h = await startHarness({ redis: true, provider: { idleTimeoutMs: 300 } });
  });
  afterAll(() => h?.stop());
  beforeEach(() => h.fake.reset());
  afterEach(() => expect(h.fake.pending()).toBe(0));

  const start = async (content = 'Hello') => {
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, content);
    return { conversationId, runId: run.id, events: await h.watch(run.id).done };
  };
  const OK_SHAPE = [
    'RunStatusChanged:QUEUED', 'RunStatusChanged:IN_PROGRESS', 'StepStarted:MODEL_CALL', 'TokenDelta',
    'StepCompleted', 'MessageCompleted:ASSISTANT', 'RunStatusChanged:COMPLETED', 'RunCompleted:COMPLETED',
  ];
  const failedShape = (code: string, streamed: boolean) => [
    'RunStatusChanged:QUEUED', 'RunStatusChanged:IN_PROGRESS', 'StepStarted:MODEL_CALL',
    ...(streamed ? ['TokenDelta', 'StepCompleted', 'MessageCompleted:ASSISTANT'] : ['StepCompleted']),
    'RunStatusChanged:FAILED', `RunFailed:${code}`,
  ];
  const failure = (events: Ev[]) => events.at(-1)!.error!;

  it('retries a 429 after its retry-after-ms, then streams the answer once', async () => {
    h.fake.enqueue(
      { kind: 'status', status: 429, headers: { 'retry-after-ms': '40' }, body: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded', param: null } } },
      { kind: 'stream', text: ['Hi ', 'there'], usage: { promptTokens: 5, completionTokens: 2 } },
    );
    const { runId, events, conversationId } = await start();
    expectWellFormed(events, runId, 'RunCompleted');
    expect(shape(events)).toEqual(OK_SHAPE);
    expect(textOf(events)).toBe('Hi there');
    expect(h.fake.requests.map((r) => r.scenario)).toEqual(['status', 'stream']);
    expect(h.fake.requests[1].body).toEqual(h.fake.requests[0].body);
    expect(h.fake.requests[1].receivedAt - h.fake.requests[0].receivedAt).toBeGreaterThanOrEqual(40);
    const stored = await h.run(runId);
    expect(stored).toMatchObject({ status: 'COMPLETED', error: null, usage: { totalTokens: 7 }, steps: [{ type: 'MODEL_CALL', status: 'COMPLETED' }] });
    expect((await h.branch(conversationId)).map((m) => [m.role, m.content, m.status])).toEqual([['USER', 'Hello', 'COMPLETE'], ['ASSISTANT', 'Hi there', 'COMPLETE']]);
  });

  it('retries a stream that dies before its first token', async () => {
    h.fake.enqueue({ kind: 'truncate', afterChunks: 1, text: ['lost'] }, { kind: 'stream', text: ['kept'] });
    const { runId, events } = await start();
    expectWellFormed(events, runId, 'RunCompleted');
    expect(shape(events)).toEqual(OK_SHAPE);
    expect(textOf(events)).toBe('kept');
    expect(h.fake.requests.map((r) => r.scenario)).toEqual(['truncate', 'stream']);
  });

  it('fails with UPSTREAM_RATE_LIMITED once 429s outlast the retries, recording the failed step', async () => {
    const limited: FakeScenario = { kind: 'status', status: 429, headers: { 'retry-after-ms': '1' } };
    h.fake.enqueue(limited, limited, limited);
    const { runId, events, conversationId } = await start();
    expectWellFormed(events, runId, 'RunFailed');
    expect(shape(events)).toEqual(failedShape('UPSTREAM_RATE_LIMITED', false));
    expect(failure(events).message).toMatch(/^The model provider answered 429\b/);
    expect(h.fake.requests).toHaveLength(3);
    const stored = await h.run(runId);
    expect(stored).toMatchObject({ status: 'FAILED', error: failure(events), responseMessage: null, usage: { totalTokens: 0 } });
    expect(stored.steps).toMatchObject([{ index: 0, type: 'MODEL_CALL', status: 'FAILED', error: { code: 'UPSTREAM_RATE_LIMITED' } }]);
    expect((await h.branch(conversationId)).map((m) => m.role)).toEqual(['USER']);
  });

  it('fails at once, without retrying, on a 400 (BAD_REQUEST) and when a Retry-After is too long', async () => {
    h.fake.enqueue({ kind: 'status', status: 400, body: { error: { message: "Invalid 'messages'", type: 'invalid_request_error', param: 'messages', code: null } } });
    const bad = await start();
    expect(shape(bad.events)).toEqual(failedShape('BAD_REQUEST', false));
    // Users read the status and type, never the upstream's own words.
    expect(failure(bad.events).message).toBe('The model provider answered 400 (invalid_request_error)');
    expect(h.fake.requests).toHaveLength(1);

    h.fake.reset();
    h.fake.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '120' } });
    const slow = await start();
    expect(shape(slow.events)).toEqual(failedShape('UPSTREAM_RATE_LIMITED', false));
    expect(h.fake.requests).toHaveLength(1);
  });

  const midStream: [string, FakeScenario, string, RegExp][] = [
    ['a 500 error event after the first tokens', { kind: 'error-after', afterChunks: 3, text: ['Hel', 'lo', ' world'] }, 'UPSTREAM_ERROR', /reported an error/],
    ['a connection reset mid-answer', { kind: 'truncate', afterChunks: 3, text: ['Hel', 'lo', ' world'] }, 'TRUNCATED_STREAM', /stream ended before the model finished/],
    ['a response that ends with no finish_reason and no [DONE]', { kind: 'truncate', clean: true, afterChunks: 3, text: ['Hel', 'lo', ' world'] }, 'TRUNCATED_STREAM', /stream ended before the model finished/],
    ['a chunk that is not JSON', { kind: 'malformed', afterChunks: 3, text: ['Hel', 'lo', ' world'] }, 'MALFORMED_STREAM', /malformed stream/],
    ['a tool call id longer than can be stored', { kind: 'stream', text: ['Hel', 'lo'], toolCalls: [{ id: 'x'.repeat(300), name: 'calculator', argumentsChunks: ['{}'] }] }, 'MALFORMED_STREAM', /malformed stream/],
    ['an upstream that goes silent', { kind: 'hang', afterChunks: 3, text: ['Hel', 'lo', ' world'] }, 'UPSTREAM_TIMEOUT', /did not answer in time/],
  ];
  it.each(midStream)('fails on %s, keeping the partial answer INCOMPLETE and not retrying', async (_name, scenario, code, message) => {
    h.fake.enqueue(scenario);
    const { runId, events, conversationId } = await start();
    expectWellFormed(events, runId, 'RunFailed');
    expect(shape(events)).toEqual(failedShape(code, true));
    expect(textOf(events)).toBe('Hello');
    const error = failure(events);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(/^The model provider /);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/\n\s+at /);
    expect(h.fake.requests).toHaveLength(1);
    if (scenario.kind === 'hang') expect(h.fake.requests[0].abortedAt).toBeDefined();

    const stored = await h.run(runId);
    expect(stored).toMatchObject({ status: 'FAILED', error, responseMessage: { content: 'Hello', status: 'INCOMPLETE' } });
    expect(stored.steps).toMatchObject([{ type: 'MODEL_CALL', status: 'FAILED', error: { code } }]);
    expect(stored.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
    const branch = await h.branch(conversationId);
    expect(branch.map((m) => [m.role, m.status])).toEqual([['USER', 'COMPLETE'], ['ASSISTANT', 'INCOMPLETE']]);
    expect(branch[1]).toMatchObject({ content: 'Hello', toolCalls: [], run: { id: runId } });
  });

  it('fails a two-step run in its second model call and keeps the first step and the tool results', async () => {
    h.fake.enqueue(
      { kind: 'stream', toolCalls: [{ id: 'call_t', name: 'calculator', argumentsChunks: ['{"expression":"2+2"}'] }], usage: { promptTokens: 10, completionTokens: 3 } },
      { kind: 'error-after', afterChunks: 2, text: ['It is', ' 4'], error: { message: 'Overloaded', type: 'server_error' } },
    );
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, '2+2?', { tools: ['calculator'] });
    const events = await h.watch(run.id).done;
    expectWellFormed(events, run.id, 'RunFailed');
    expect(shape(events).slice(-5)).toEqual(['TokenDelta', 'StepCompleted', 'MessageCompleted:ASSISTANT', 'RunStatusChanged:FAILED', 'RunFailed:UPSTREAM_ERROR']);
    const stored = await h.run(run.id);
    expect(stored).toMatchObject({ status: 'FAILED', error: { code: 'UPSTREAM_ERROR' }, usage: { promptTokens: 10, completionTokens: 3 } });
    expect(stored.steps.map((s) => [s.type, s.status])).toEqual([['MODEL_CALL', 'COMPLETED'], ['TOOL_CALL', 'COMPLETED'], ['MODEL_CALL', 'FAILED']]);
    expect((await h.branch(conversationId)).map((m) => [m.role, m.status, m.content])).toEqual([
      ['USER', 'COMPLETE', '2+2?'], ['ASSISTANT', 'COMPLETE', ''], ['TOOL', 'COMPLETE', '{"expression":"2+2","result":4}'], ['ASSISTANT', 'INCOMPLETE', 'It is'],
    ]);
  });
});
