import { startTestParley, type TestParley } from '../support/parley';

const QUERY = `query($first: Int) { conversations(first: $first) { edges { node {
  agent { name }
  messages(first: 20) { edges { node { id role parent { id } } } } } } } }`;

describe('no N+1: the conversation list costs the same number of statements for 5 or 50 conversations', () => {
  let p: TestParley;
  let key: string;

  beforeAll(async () => {
    p = await startTestParley({ countQueries: true });
    key = (await p.newUser()).apiKey;
    const agent = await p.gql<{ createAgent: { agent: { id: string } } }>('mutation { createAgent(input: { name: "helper", model: "demo/demo" }) { agent { id } } }', {}, key);
    const agentId = agent.data!.createAgent.agent.id;
    for (let i = 0; i < 50; i++) {
      const c = await p.gql<{ createConversation: { conversation: { id: string } } }>(
        'mutation($input: CreateConversationInput!) { createConversation(input: $input) { conversation { id } } }',
        { input: { title: `c${i}`, agentId: i % 2 ? agentId : null } },
        key,
      );
      const conversationId = c.data!.createConversation.conversation.id;
      for (let j = 0; j < 4; j++) {
        await p.gql('mutation($input: AppendMessageInput!) { appendMessage(input: $input) { message { id } } }', { input: { conversationId, role: j % 2 ? 'ASSISTANT' : 'USER', content: `m${j}` } }, key);
      }
    }
  });
  afterAll(() => p.stop());

  const statementsFor = async (first: number) => {
    await p.gql('{ viewer { id } }', {}, key); // settle lastUsedAt bookkeeping
    await new Promise((r) => setTimeout(r, 50));
    p.queries.length = 0;
    const res = await p.gql<{ conversations: { edges: { node: { messages: { edges: unknown[] } } }[] } }>(QUERY, { first }, key);
    expect(res.errors).toBeUndefined();
    expect(res.data!.conversations.edges).toHaveLength(first);
    for (const e of res.data!.conversations.edges) expect(e.node.messages.edges).toHaveLength(4);
    return p.queries.filter((q) => /\b(select|with)\b/i.test(q)).length;
  };

  it('issues at most 5 statements, independent of page size', async () => {
    const five = await statementsFor(5);
    const fifty = await statementsFor(50);
    expect(five).toBeLessThanOrEqual(5);
    expect(fifty).toBe(five);
  });
});
