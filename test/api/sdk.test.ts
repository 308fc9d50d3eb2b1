import { print } from 'graphql';
import {
  AppendMessageDocument,
  ConversationDocument,
  CreateConversationDocument,
  CreateUserDocument,
  ModelsDocument,
  ParleyError,
  RunDocument,
  RunEventsDocument,
  SendMessageDocument,
  ToolsDocument,
  createParleyClient,
  type RunEventsSubscription,
} from '../../sdk';
import { collect, startTestParley, type TestParley } from '../support/parley';

describe('the generated SDK against a running server', () => {
  let p: TestParley;
  beforeAll(async () => {
    p = await startTestParley({ env: { PARLEY_DEMO_TOKEN_DELAY_MS: '1' } });
  });
  afterAll(() => p.stop());

  it('drives a conversation, a run and its event stream with typed documents', async () => {
    const admin = createParleyClient({ url: p.url, apiKey: p.adminKey });
    const { createUser } = await admin.request(CreateUserDocument, { input: { email: 'sdk@example.com' } });
    const parley = createParleyClient({ url: p.url, apiKey: createUser.apiKey });

    const { createConversation } = await parley.request(CreateConversationDocument, { input: { title: 'SDK', tags: ['sdk'] } });
    const conversationId = createConversation.conversation.id;
    await parley.request(AppendMessageDocument, { input: { conversationId, role: 'SYSTEM', content: 'Be brief.' } });
    const { sendMessage } = await parley.request(SendMessageDocument, { input: { conversationId, content: 'Hello SDK' } });
    expect(sendMessage.run.status).toBe('QUEUED');

    const items = await collect<RunEventsSubscription>(p.ws(createUser.apiKey), print(RunEventsDocument), { runId: sendMessage.run.id, after: 0 }, () => false);
    expect(items.at(-1)?.data?.runEvents.__typename).toBe('RunCompleted');

    const { run } = await parley.request(RunDocument, { id: sendMessage.run.id });
    expect(run.status).toBe('COMPLETED');
    const { conversation } = await parley.request(ConversationDocument, { id: conversationId, first: 10 });
    expect(conversation.messages.edges.map((e) => e.node.role)).toEqual(['SYSTEM', 'USER', 'ASSISTANT']);
    expect(conversation.messages.edges[2].node.parent?.id).toBe(sendMessage.message.id);

    const { models } = await parley.request(ModelsDocument);
    expect(models.map((m) => m.id)).toContain('demo/demo');
    const { tools } = await parley.request(ToolsDocument);
    expect(tools.map((t) => t.name).sort()).toEqual(['calculator', 'current_time', 'search_conversations']);
  });

  it('surfaces extensions.code as ParleyError.code', async () => {
    const parley = createParleyClient({ url: p.url, apiKey: p.adminKey });
    const err = await parley.request(ConversationDocument, { id: '018f0000-0000-7000-8000-000000000000' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParleyError);
    expect((err as ParleyError).code).toBe('NOT_FOUND');
    const anon = createParleyClient({ url: p.url, apiKey: '' });
    const denied = await anon.request(ModelsDocument).catch((e: unknown) => e);
    expect((denied as ParleyError).code).toBe('UNAUTHENTICATED');
  });
});
