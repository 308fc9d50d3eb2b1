import { collect, startTestParley, type TestParley } from '../support/parley';
import { RUN_EVENTS, SEND, type RunEventsData, type SendData } from './run-helpers';

describe('a run on the built-in demo model (zero config, memory queue and log)', () => {
  let p: TestParley;
  let key: string;
  let conversationId: string;

  beforeAll(async () => {
    p = await startTestParley({ env: { PARLEY_DEMO_TOKEN_DELAY_MS: '1' } });
    key = (await p.newUser()).apiKey;
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "demo" }) { conversation { id } } }', {}, key);
    conversationId = c.data!.createConversation.conversation.id;
  });
  afterAll(() => p.stop());

  it('streams reasoning and text, then stores the answer once', async () => {
    const sent = await p.gql<SendData>(SEND, { input: { conversationId, content: 'Hello there, demo!' } }, key);
    expect(sent.errors).toBeUndefined();
    const { run, message } = sent.data!.sendMessage;
    expect(run.status).toBe('QUEUED');
    const items = await collect<RunEventsData>(p.ws(key), RUN_EVENTS, { runId: run.id, after: 0 }, () => false);
    const events = items.map((i) => i.data!.runEvents);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const types = events.map((e) => e.__typename);
    expect(types[0]).toBe('RunStatusChanged');
    expect(types).toContain('ReasoningDelta');
    expect(types).toContain('TokenDelta');
    expect(types.at(-1)).toBe('RunCompleted');
    const text = events.filter((e) => e.__typename === 'TokenDelta').map((e) => e.text).join('');
    const stored = await p.gql<{ run: { status: string; usage: { totalTokens: number }; timeToFirstTokenMs: number; steps: { type: string }[]; responseMessage: { content: string; reasoning: string; parent: { id: string } } } }>(
      'query($id: ID!) { run(id: $id) { status usage { totalTokens } timeToFirstTokenMs steps { type } responseMessage { content reasoning parent { id } } } }',
      { id: run.id },
      key,
    );
    expect(stored.data!.run).toMatchObject({ status: 'COMPLETED', steps: [{ type: 'MODEL_CALL' }], responseMessage: { content: text, parent: { id: message.id } } });
    expect(stored.data!.run.usage.totalTokens).toBeGreaterThan(0);
    expect(stored.data!.run.responseMessage.reasoning.length).toBeGreaterThan(0);
  });

  it('calls the calculator tool for arithmetic and answers with its result', async () => {
    const agent = await p.gql<{ createAgent: { agent: { id: string } } }>('mutation { createAgent(input: { name: "calc", model: "demo/demo", tools: ["calculator"] }) { agent { id } } }', {}, key);
    const sent = await p.gql<SendData>(SEND, { input: { conversationId, content: 'What is 12*(3+4)?', agentId: agent.data!.createAgent.agent.id } }, key);
    const items = await collect<RunEventsData>(p.ws(key), RUN_EVENTS, { runId: sent.data!.sendMessage.run.id, after: 0 }, () => false);
    const events = items.map((i) => i.data!.runEvents);
    const done = events.find((e) => e.__typename === 'ToolCallCompleted');
    expect(done).toMatchObject({ name: 'calculator', isError: false });
    expect(JSON.parse(done!.output!)).toMatchObject({ result: 84 });
    expect(events.filter((e) => e.__typename === 'TokenDelta').map((e) => e.text).join('')).toContain('84');
    expect(events.at(-1)?.__typename).toBe('RunCompleted');
  });
});
