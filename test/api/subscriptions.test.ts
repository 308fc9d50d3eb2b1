import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { collect, startTestParley, TEST_REDIS_URL, type TestParley } from '../support/parley';
import { spawnParley, type ParleyProcess } from '../support/process';

const EVENTS = `subscription($id: ID!) { conversationEvents(conversationId: $id) { type conversationId message { id content } conversation { title } } }`;
type Ev = { conversationEvents: { type: string; message: { content: string } | null; conversation: { title: string } | null } };

describe('conversationEvents over graphql-ws, across two server processes on one Redis', () => {
  let a: TestParley;
  let b: ParleyProcess;
  let key: string;

  beforeAll(async () => {
    a = await startTestParley({ redis: true });
    b = await spawnParley({ DATABASE_URL: a.databaseUrl, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: a.redisPrefix, PARLEY_ADMIN_KEY: a.adminKey });
    key = (await a.newUser()).apiKey;
  }, 60_000);
  afterAll(async () => {
    expect(await b?.stop()).toBe(0); // graceful shutdown exits cleanly
    await a?.stop();
  });

  const newConversation = async () =>
    (await a.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "live" }) { conversation { id } } }', {}, key)).data!
      .createConversation.conversation.id;

  it('delivers on node B what was written through node A', async () => {
    const id = await newConversation();
    const clientB = createClient({ url: b.url.replace('http', 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
    const received = collect<Ev>(clientB, EVENTS, { id }, (items) => items.length >= 2);
    await new Promise((r) => setTimeout(r, 300)); // let B subscribe before A writes
    await a.gql('mutation($input: AppendMessageInput!) { appendMessage(input: $input) { message { id } } }', { input: { conversationId: id, role: 'USER', content: 'from A' } }, key);
    await a.gql('mutation($input: UpdateConversationInput!) { updateConversation(input: $input) { conversation { id } } }', { input: { conversationId: id, title: 'renamed on A' } }, key);
    const items = await received;
    await clientB.dispose();
    expect(items.map((i) => i.data?.conversationEvents)).toEqual([
      expect.objectContaining({ type: 'MESSAGE_ADDED', message: expect.objectContaining({ content: 'from A' }) }),
      expect.objectContaining({ type: 'CONVERSATION_UPDATED', conversation: { title: 'renamed on A' } }),
    ]);
  });

  it("refuses another user's conversation before streaming, and anonymous connections at connect", async () => {
    const id = await newConversation();
    const stranger = await a.newUser();
    const items = await collect<Ev>(a.ws(stranger.apiKey), EVENTS, { id }, () => true);
    expect(items[0].errors?.[0].extensions?.code).toBe('NOT_FOUND');

    const anon = createClient({ url: a.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    await expect(collect(anon, EVENTS, { id }, () => true, 5000)).rejects.toMatchObject({ code: 4403 });
    await anon.dispose();
  });
});
