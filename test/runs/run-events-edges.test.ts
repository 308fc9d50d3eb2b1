import { collect, startTestParley, type GqlResult, type TestParley } from '../support/parley';
import { RUN_EVENTS, SEND, type RunEventsData, type SendData } from './run-helpers';

/**
 * Every runEvents subscription ends: after a finished run's events expire
 * (PARLEY_RUN_EVENT_RETENTION_S), when a client resumes after the terminal
 * event, or when it names an event that does not exist.
 */
describe.each([
  ['in-memory log', false],
  ['Redis log', true],
])('runEvents on a run whose events expired (%s)', (_name, redis) => {
  let p: TestParley;
  let conversationId: string;

  beforeAll(async () => {
    p = await startTestParley({ redis, env: { PARLEY_DEMO_TOKEN_DELAY_MS: '1', PARLEY_RUN_EVENT_RETENTION_S: '1' } });
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "expiry" }) { conversation { id } } }');
    conversationId = c.data!.createConversation.conversation.id;
  });
  afterAll(() => p?.stop());

  const events = (runId: string, after = 0): Promise<GqlResult<RunEventsData>[]> =>
    collect<RunEventsData>(p.ws(), RUN_EVENTS, { runId, after }, () => false, 5_000);

  it('replays a finished run within the retention, then refuses with EVENTS_EXPIRED and the run status', async () => {
    const sent = await p.gql<SendData>(SEND, { input: { conversationId, content: 'Hello' } });
    const runId = sent.data!.sendMessage.run.id;
    const live = await events(runId);
    expect(live.at(-1)!.data!.runEvents.__typename).toBe('RunCompleted');
    const replay = await events(runId, 1);
    expect(replay.map((i) => i.data!.runEvents.seq)).toEqual(live.slice(1).map((i) => i.data!.runEvents.seq));
    // A reconnect after the terminal event (its seq as the cursor) completes at once, with nothing.
    const lastSeq = live.at(-1)!.data!.runEvents.seq;
    expect(await events(runId, lastSeq)).toEqual([]);
    // A cursor past the last event could skip the terminal one: refused.
    const beyond = await events(runId, lastSeq + 5);
    expect(beyond[0].errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'after', lastSeq } });

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const expired = await events(runId, 3);
    expect(expired).toHaveLength(1);
    expect(expired[0].errors?.[0]).toMatchObject({ extensions: { code: 'EVENTS_EXPIRED', runId, status: 'COMPLETED' } });
    expect(expired[0].errors?.[0].message).toMatch(/query run\(id\)/);

    // The run itself is still there, in full.
    const stored = await p.gql<{ run: { status: string; responseMessage: { content: string } } }>('query($id: ID!) { run(id: $id) { status responseMessage { content } } }', { id: runId });
    expect(stored.data!.run.status).toBe('COMPLETED');
    expect(stored.data!.run.responseMessage.content.length).toBeGreaterThan(0);
  });

  it('refuses input Postgres cannot store with BAD_USER_INPUT, writing nothing', async () => {
    const clientTool = (description: string) => ({ clientTools: [{ name: 'ask', description, parameters: { type: 'object' } }] });
    const tools = (...list: { name: string; parameters?: Record<string, unknown> }[]) => ({
      clientTools: list.map((t) => ({ description: 'd', parameters: { type: 'object' }, ...t })),
    });
    const cases: [Record<string, unknown>, string][] = [
      [{ content: 'nul \u0000 inside' }, 'content'],
      [{ content: 'hi', model: `demo/${'x'.repeat(300)}` }, 'model'],
      [{ content: 'hi', settings: clientTool('nul \u0000') }, 'settings.clientTools.description'],
      [{ content: 'hi', settings: tools({ name: 'ask' }, { name: 'ask' }) }, 'settings.clientTools.name'],
      [{ content: 'hi', settings: { ...tools({ name: 'calculator' }), tools: ['calculator'] } }, 'settings.clientTools.name'],
    ];
    for (const [input, field] of cases) {
      const res = await p.gql(SEND, { input: { conversationId, ...input } });
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    // A parameter schema nested 5 000 deep, written out by hand (too deep for JSON.stringify here, and it was for the server).
    const deep = `${'{"type":"object","a":'.repeat(5_000)}{}${'}'.repeat(5_000)}`;
    const body = `{"query":${JSON.stringify(SEND)},"variables":{"input":{"conversationId":"${conversationId}","content":"hi","settings":{"clientTools":[{"name":"ask","description":"d","parameters":${deep}}]}}}}`;
    const res = await fetch(p.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${p.adminKey}` }, body });
    expect(((await res.json()) as { errors: { extensions: unknown }[] }).errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'settings.clientTools.parameters' });
    const path = await p.gql<{ conversation: { messages: { edges: unknown[] } } }>('query($id: ID!) { conversation(id: $id) { messages(first: 50) { edges { cursor } } } }', { id: conversationId });
    expect(path.data!.conversation.messages.edges).toHaveLength(2); // the first test's question and answer only
  });
});
