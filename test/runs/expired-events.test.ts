import { collect, startTestParley, type GqlResult, type TestParley } from '../support/parley';
import { RUN_EVENTS, SEND, type RunEventsData, type SendData } from './run-helpers';

/**
 * A finished run's events are kept for PARLEY_RUN_EVENT_RETENTION_S; after
 * that a subscription must end with a clear error, not wait forever.
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
});
