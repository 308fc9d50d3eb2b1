import { startTestParley, type TestParley } from '../support/parley';
import { SEND } from '../runs/run-helpers';

const CONVERSATION = 'mutation { createConversation(input: {}) { conversation { id } } }';
const newConversation = async (p: TestParley, key: string) =>
  (await p.gql<{ createConversation: { conversation: { id: string } } }>(CONVERSATION, {}, key)).data!.createConversation.conversation.id;

/** Three run starts in one document: each field draws its own point. */
const THREE_SENDS = `mutation($a: SendMessageInput!, $b: SendMessageInput!, $c: SendMessageInput!) {
  a: sendMessage(input: $a) { run { id } } b: sendMessage(input: $b) { run { id } } c: sendMessage(input: $c) { run { id } } }`;

const MESSAGES = 'query($id: ID!) { conversation(id: $id) { messages { edges { node { id } } } } }';

/**
 * Mutation fields run in order and a refused one nulls the (non-null) answer,
 * so what each field did shows in its conversation: a and b got their user
 * message, c (the third point) nothing.
 */
async function expectTwoOfThreeInOneDocument(p: TestParley) {
  const { apiKey } = await p.newUser();
  const ids = [await newConversation(p, apiKey), await newConversation(p, apiKey), await newConversation(p, apiKey)];
  const [a, b, c] = ids.map((conversationId) => ({ conversationId, content: 'hi' }));
  const res = await p.gql(THREE_SENDS, { a, b, c }, apiKey);
  expect(res.errors).toEqual([expect.objectContaining({ path: ['c'], extensions: expect.objectContaining({ code: 'RATE_LIMITED', limit: 'runsPerMinute' }) })]);
  const written = await Promise.all(
    ids.map(async (id) => (await p.gql<{ conversation: { messages: { edges: unknown[] } } }>(MESSAGES, { id }, apiKey)).data!.conversation.messages.edges.length > 0),
  );
  expect(written).toEqual([true, true, false]);
}

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
    expect(results[2].errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'runsPerMinute', scope: 'user', limitPerMinute: 2, retryAfterMs: expect.any(Number) });
    const path = await p.gql<{ conversation: { messages: { edges: unknown[] } } }>('query($id: ID!) { conversation(id: $id) { messages { edges { node { id } } } } }', { id: convs[2] }, apiKey);
    expect(path.data?.conversation.messages.edges).toHaveLength(0);
    const other = await p.newUser();
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: {}) { conversation { id } } }', {}, other.apiKey);
    expect((await p.gql(SEND, { input: { conversationId: c.data!.createConversation.conversation.id, content: 'hi' } }, other.apiKey)).data).toBeTruthy();
  });

  it('draws one point for each run-starting field of a document', async () => {
    await expectTwoOfThreeInOneDocument(p);
  });
});

describe('rate limits on run-starting mutations without Redis (this node only)', () => {
  let p: TestParley;
  beforeAll(async () => {
    p = await startTestParley({ env: { PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: '2', PARLEY_DEMO_TOKEN_DELAY_MS: '0' } });
  });
  afterAll(() => p.stop());

  it('counts in memory the same way', async () => {
    await expectTwoOfThreeInOneDocument(p);
  });
});
