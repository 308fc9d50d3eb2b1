import { startTestParley, TEST_REDIS_URL, type TestParley } from '../support/parley';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai';
import { spawnParley, type ParleyProcess } from '../support/process';
import { MODEL, expectWellFormed, startHarness, textOf, type Ev, type Harness } from './fake-run-harness';
import { RUN_EVENTS, SEND, type RunEventsData, type SendData } from './run-helpers';

/**
 * Every run ends: past its deadline, when its upstream only sends empty
 * deltas, when its tool outputs never come, and when its only worker dies.
 * Limits are short and set through the environment; the tests wait for the
 * events those limits cause, never for a duration.
 */

const failure = (events: Ev[]) => (events.at(-1) as Ev & { error: { code: string; message: string } }).error;
const CLIENT_TOOLS = [{ name: 'confirm', description: 'Ask the user', parameters: { type: 'object', properties: {} } }];
/** A stream far longer than any deadline here: 200 tokens, 100 ms apart. */
const LONG = { kind: 'stream' as const, text: Array.from({ length: 200 }, (_, i) => `w${i} `), delayMs: 100 };

describe('run deadlines, idle upstreams and paused-run expiry (one node)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      env: { PARLEY_REQUIRES_ACTION_TTL_S: '1', PARLEY_RECONCILE_INTERVAL_MS: '200' },
      provider: { idleTimeoutMs: 500, maxRetries: 0 },
    });
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
  });

  it('ends a run past its own deadline FAILED (RUN_TIMEOUT), keeping its partial answer', async () => {
    h.fake.enqueue(LONG);
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Talk for a long time', { timeoutMs: 1_000 });
    const events = await h.watch(run.id).done;
    expectWellFormed(events, run.id, 'RunFailed');
    expect(failure(events).code).toBe('RUN_TIMEOUT');
    const text = textOf(events);
    expect(text.length).toBeGreaterThan(0);
    const stored = await h.run(run.id);
    expect(stored).toMatchObject({ status: 'FAILED', error: { code: 'RUN_TIMEOUT' }, responseMessage: { status: 'INCOMPLETE', content: text } });
    expect(stored.steps.map((s) => s.status)).toEqual(['FAILED']);
    expect(h.fake.requests.at(-1)!.abortedAt).toBeDefined();
    // The branch is free again.
    h.fake.enqueue({ kind: 'stream', text: ['ok'] });
    const next = await h.send(conversationId, 'Short, please');
    expectWellFormed(await h.watch(next.run.id).done, next.run.id, 'RunCompleted');
  });

  it("takes the deadline from the run's agent when the run sets none", async () => {
    const created = await h.p.gql<{ createAgent: { agent: { id: string; runTimeoutMs: number } } }>(
      'mutation($input: CreateAgentInput!) { createAgent(input: $input) { agent { id runTimeoutMs } } }',
      { input: { name: 'brief', model: MODEL, runTimeoutMs: 1_000 } },
      h.key,
    );
    expect(created.data?.createAgent.agent.runTimeoutMs).toBe(1_000);
    h.fake.enqueue(LONG);
    const conversationId = await h.conversation();
    const sent = await h.p.gql<SendData>(SEND, { input: { conversationId, content: 'Go on', agentId: created.data!.createAgent.agent.id } }, h.key);
    const runId = sent.data!.sendMessage.run.id;
    const events = await h.watch(runId).done;
    expect(failure(events).code).toBe('RUN_TIMEOUT');
  });

  it('refuses a deadline out of range', async () => {
    const conversationId = await h.conversation();
    const res = await h.p.gql(SEND, { input: { conversationId, content: 'x', settings: { timeoutMs: 10 } } }, h.key);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'settings.timeoutMs' });
  });

  it('fails an upstream that sends empty deltas forever by its idle timeout', async () => {
    h.fake.enqueue({ kind: 'empty-deltas', afterChunks: 3, everyMs: 20, text: ['Hel', 'lo', ' world'] });
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Say hello');
    const events = await h.watch(run.id).done;
    expectWellFormed(events, run.id, 'RunFailed');
    expect(failure(events)).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    expect(textOf(events)).toBe('Hello');
    expect(h.fake.requests.at(-1)!.abortedAt).toBeDefined();
    expect(await h.run(run.id)).toMatchObject({ status: 'FAILED', responseMessage: { status: 'INCOMPLETE', content: 'Hello' } });
  });

  it('expires a run left in REQUIRES_ACTION, and frees its branch', async () => {
    h.fake.enqueue({ kind: 'stream', text: ['Asking.'], toolCalls: [{ id: 'call_x', name: 'confirm', argumentsChunks: ['{}'] }] });
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Delete it?', { clientTools: CLIENT_TOOLS });
    const watch = h.watch(run.id);
    const events = await watch.done;
    expectWellFormed(events, run.id, 'RunFailed');
    expect(events.map((e) => e.__typename)).toContain('RequiresAction');
    expect(events.at(-2)).toMatchObject({ __typename: 'RunStatusChanged', status: 'FAILED', previousStatus: 'REQUIRES_ACTION' });
    expect(failure(events).code).toBe('REQUIRES_ACTION_EXPIRED');
    expect(await h.run(run.id)).toMatchObject({ status: 'FAILED', error: { code: 'REQUIRES_ACTION_EXPIRED' } });
    const submit = await h.p.gql(
      'mutation($input: SubmitToolOutputsInput!) { submitToolOutputs(input: $input) { run { id } } }',
      { input: { runId: run.id, toolOutputs: [{ toolCallId: 'call_x', output: 'yes' }] } },
      h.key,
    );
    expect(submit.errors?.[0].extensions?.code).toBe('CONFLICT');
    h.fake.enqueue({ kind: 'stream', text: ['ok'] });
    const next = await h.send(conversationId, 'Never mind');
    expectWellFormed(await h.watch(next.run.id).done, next.run.id, 'RunCompleted');
  });
});

describe('the reconciler ends a run whose only worker died (API node without a worker)', () => {
  let api: TestParley;
  let fake: FakeOpenAI;
  let worker: ParleyProcess | undefined;
  let key: string;
  const LEASE = { PARLEY_RUN_LEASE_MS: '1000', PARLEY_RECONCILE_INTERVAL_MS: '200' };

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const providers = {
      PARLEY_PROVIDERS: JSON.stringify({ fake: { baseUrl: fake.url, apiKey: 'x', maxRetries: 0 } }),
      PARLEY_MODELS: JSON.stringify({ [MODEL]: { inputPricePer1M: 1, outputPricePer1M: 1 } }),
      PARLEY_DEFAULT_MODEL: MODEL,
    };
    api = await startTestParley({ redis: true, env: { PARLEY_WORKER: 'off', ...LEASE, ...providers } });
    // The worker takes part in the election too, with the same short lock: its death must not block the API node.
    // Its BullMQ lock is long, so only the reconciler can end a run it abandons.
    worker = await spawnParley(
      { DATABASE_URL: api.databaseUrl, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: api.redisPrefix, PARLEY_ADMIN_KEY: api.adminKey, PARLEY_JOB_LOCK_MS: '120000', ...LEASE, ...providers },
      'src/worker.ts',
      'Parley worker is running',
    );
    key = (await api.newUser()).apiKey;
  }, 90_000);

  afterAll(async () => {
    worker?.kill();
    await api?.stop();
    await fake?.close();
  });

  const start = async (content: string) => {
    const c = await api.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "lease" }) { conversation { id } } }', {}, key);
    const conversationId = c.data!.createConversation.conversation.id;
    const sent = await api.gql<SendData>(SEND, { input: { conversationId, content } }, key);
    return { conversationId, runId: sent.data!.sendMessage.run.id };
  };

  /** Every event of a run until its stream completes, and a promise for the first TokenDelta. */
  const watch = (runId: string) => {
    const events: Ev[] = [];
    let sawToken = () => {};
    const firstToken = new Promise<void>((resolve) => (sawToken = resolve));
    const done = new Promise<Ev[]>((resolve, reject) => {
      api.ws(key).subscribe<RunEventsData>({ query: RUN_EVENTS, variables: { runId, after: 0 } }, {
        next: (v) => {
          if (v.errors) return reject(new Error(JSON.stringify(v.errors)));
          events.push(v.data!.runEvents as Ev);
          if (v.data!.runEvents.__typename === 'TokenDelta') sawToken();
        },
        error: (err) => reject(err instanceof Error ? err : new Error(JSON.stringify(err))),
        complete: () => resolve(events),
      });
    });
    return { firstToken, done };
  };

  it('keeps a live worker\'s run going past the lease: its heartbeat renews it', async () => {
    // 30 tokens 100 ms apart: three times the lease.
    fake.enqueue({ kind: 'stream', text: Array.from({ length: 30 }, (_, i) => `t${i} `), delayMs: 100 });
    const { runId } = await start('A steady answer');
    const events = await watch(runId).done;
    expectWellFormed(events, runId, 'RunCompleted');
    expect(textOf(events)).toBe(Array.from({ length: 30 }, (_, i) => `t${i} `).join(''));
  }, 60_000);

  it('fails the run WORKER_LOST once the lease lapses, with no worker left, and the subscriber gets RunFailed', async () => {
    fake.enqueue(LONG);
    const { conversationId, runId } = await start('A long answer');
    const w = watch(runId);
    await w.firstToken;
    worker!.kill(); // SIGKILL: no cleanup, and no other worker to notice a stalled job
    worker = undefined;
    const events = await w.done;
    expectWellFormed(events, runId, 'RunFailed');
    expect(failure(events).code).toBe('WORKER_LOST');
    expect(events.at(-2)).toMatchObject({ __typename: 'RunStatusChanged', status: 'FAILED', previousStatus: 'IN_PROGRESS' });
    const run = await api.gql<{ run: { status: string; error: { code: string } } }>('query($id: ID!) { run(id: $id) { status error { code } } }', { id: runId }, key);
    expect(run.data!.run).toMatchObject({ status: 'FAILED', error: { code: 'WORKER_LOST' } });
    // The branch is free: a new message is accepted (it waits QUEUED for a worker).
    const next = await api.gql<SendData>(SEND, { input: { conversationId, content: 'Again' } }, key);
    expect(next.errors).toBeUndefined();
  }, 60_000);
});
