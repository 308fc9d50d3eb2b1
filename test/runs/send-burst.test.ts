import { startTestParley, type TestParley } from '../support/parley';
import { SEND, type SendData } from './run-helpers';

/**
 * A burst of run-starting requests larger than the connection pool: each
 * holds one pooled connection for its transaction, so none may need a second
 * one inside it (that deadlocked the pool until the acquire timeout, 60 s).
 */
describe('a burst of sendMessage larger than the database pool', () => {
  let p: TestParley;
  beforeAll(async () => {
    p = await startTestParley({ env: { PARLEY_DEMO_TOKEN_DELAY_MS: '0', PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: '1000', PARLEY_MAX_ACTIVE_RUNS_PER_USER: '1000' } });
  });
  afterAll(() => p?.stop());

  it('starts 40 runs with an agent and 40 with an explicit parent at once, every one of them', async () => {
    const agent = await p.gql<{ createAgent: { agent: { id: string } } }>('mutation { createAgent(input: { name: "burst", model: "demo/demo" }) { agent { id } } }');
    const agentId = agent.data!.createAgent.agent.id;
    const conversation = async () =>
      (await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "burst" }) { conversation { id } } }')).data!.createConversation.conversation.id;
    const ids = await Promise.all(Array.from({ length: 40 }, conversation));
    const withAgent = await Promise.all(ids.map((conversationId) => p.gql<SendData>(SEND, { input: { conversationId, content: 'hi', agentId } })));
    expect(withAgent.flatMap((r) => r.errors ?? [])).toEqual([]);

    // Sends naming a parent do not lock the conversation; the parent is each conversation's first answer-less message.
    const parents = await Promise.all(
      ids.map(async (conversationId) => {
        const res = await p.gql<{ appendMessage: { message: { id: string } } }>(
          'mutation($input: AppendMessageInput!) { appendMessage(input: $input) { message { id } } }',
          { input: { conversationId, role: 'USER', content: 'side', asRoot: true, setActive: false } },
        );
        return { conversationId, parentId: res.data!.appendMessage.message.id };
      }),
    );
    const withParent = await Promise.all(parents.map((input) => p.gql<SendData>(SEND, { input: { ...input, content: 'hi' } })));
    expect(withParent.flatMap((r) => r.errors ?? [])).toEqual([]);
  }, 30_000);
});
