import { startTestParley, type TestParley } from '../support/parley';
import { SEND } from '../runs/run-helpers';

describe('rate limits on run-starting mutations (shared through Redis)', () => {
  let p: TestParley;
  beforeAll(async () => {
    p = await startTestParley({ redis: true, env: { PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: '2', PARLEY_DEMO_TOKEN_DELAY_MS: '0' } });
  });
  afterAll(() => p.stop());

  it('answers RATE_LIMITED past the per-user limit, without writing the message, and counts users separately', async () => {
    const { apiKey } = await p.newUser();
    const convs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: {}) { conversation { id } } }', {}, apiKey);
      convs.push(c.data!.createConversation.conversation.id);
    }
    const results = [];
    for (const conversationId of convs) results.push(await p.gql(SEND, { input: { conversationId, content: 'hi' } }, apiKey));
    expect(results.slice(0, 2).every((r) => r.data)).toBe(true);
    expect(results[2].errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limitPerMinute: 2 });
    const path = await p.gql<{ conversation: { messages: { edges: unknown[] } } }>('query($id: ID!) { conversation(id: $id) { messages { edges { node { id } } } } }', { id: convs[2] }, apiKey);
    expect(path.data?.conversation.messages.edges).toHaveLength(0);
    const other = await p.newUser();
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: {}) { conversation { id } } }', {}, other.apiKey);
    expect((await p.gql(SEND, { input: { conversationId: c.data!.createConversation.conversation.id, content: 'hi' } }, other.apiKey)).data).toBeTruthy();
  });
});
