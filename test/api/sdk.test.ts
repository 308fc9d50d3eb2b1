import WebSocket from 'ws';
import {
  AppendMessageDocument,
  ConversationDocument,
  CreateUserDocument,
  ModelsDocument,
  ParleyError,
  ToolsDocument,
  createParleyClient,
  foldRunEvents,
  isParleyError,
  type RunEvent,
} from '../../sdk';
import { startTestParley, type TestParley } from '../support/parley';

describe('the SDK (sources) against a running server', () => {
  let p: TestParley;
  let key: string;
  // Node 20 has no global WebSocket: the SDK would import `ws` itself; jest's VM cannot, so pass it.
  const client = (apiKey: string) => createParleyClient({ url: p.url, apiKey, webSocketImpl: WebSocket });

  beforeAll(async () => {
    p = await startTestParley({ env: { PARLEY_DEMO_TOKEN_DELAY_MS: '1' } });
    const { createUser } = await client(p.adminKey).request(CreateUserDocument, { input: { email: 'sdk@example.com' } });
    key = createUser.apiKey;
  });
  afterAll(() => p.stop());

  it('sends a message and streams the reply; the folded stream is the stored answer', async () => {
    const parley = client(key);
    const conversation = await parley.conversations.create({ title: 'SDK', tags: ['sdk'] });
    await parley.request(AppendMessageDocument, { input: { conversationId: conversation.id, role: 'SYSTEM', content: 'Be brief.' } });

    const stream = await parley.chat.send({ conversationId: conversation.id, content: 'Hello SDK' });
    expect(stream.run.status).toBe('QUEUED');
    expect(stream.message).toMatchObject({ role: 'USER', content: 'Hello SDK' });
    const events: RunEvent[] = [];
    for await (const event of stream) events.push(event);

    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)?.__typename).toBe('RunCompleted');
    const folded = stream.snapshot();
    expect(folded).toEqual(foldRunEvents(events));
    const run = await parley.runs.get(stream.runId);
    expect(run.status).toBe('COMPLETED');
    const answer = await parley.messages.get(run.responseMessage!.id);
    expect(folded).toMatchObject({ status: 'COMPLETED', text: answer.content, done: true, messages: [{ messageId: answer.id, role: 'ASSISTANT' }] });
    expect(folded.text).toContain('Hello SDK');
    expect(folded.reasoning).toBe(answer.reasoning);
    expect(folded.usage?.totalTokens).toBe(run.usage.totalTokens);

    // The same run again from seq 3: the rest of the log, once.
    const rest: number[] = [];
    for await (const event of parley.runs.stream(stream.runId, { after: 3 })) rest.push(event.seq);
    expect(rest).toEqual(events.slice(3).map((e) => e.seq));

    const { conversation: read } = await parley.request(ConversationDocument, { id: conversation.id, first: 10 });
    expect(read.messages.edges.map((e) => e.node.role)).toEqual(['SYSTEM', 'USER', 'ASSISTANT']);
    const { models } = await parley.request(ModelsDocument);
    expect(models.map((m) => m.id)).toContain('demo/demo');
    const { tools } = await parley.request(ToolsDocument);
    expect(tools.map((t) => t.name).sort()).toEqual(['calculator', 'current_time', 'search_conversations']);
  });

  it('surfaces extensions.code as ParleyError.code, over HTTP and over the socket', async () => {
    const parley = client(key);
    const missing = '018f0000-0000-7000-8000-000000000000';
    const err = await parley.conversations.get(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParleyError);
    expect(err).toMatchObject({ code: 'NOT_FOUND', status: 200 });

    const streamErr = await parley.runs.stream(missing).finalMessage().catch((e: unknown) => e);
    expect(isParleyError(streamErr, 'NOT_FOUND')).toBe(true);
    expect(streamErr).toMatchObject({ runId: missing, lastSeq: 0 });

    const anon = client('pk_not_a_key');
    expect(await anon.request(ModelsDocument).catch((e: unknown) => e)).toMatchObject({ code: 'UNAUTHENTICATED' });
    // The socket refuses the key at connection (4403): no reconnect loop, one typed error.
    expect(await anon.runs.stream(missing).finalMessage().catch((e: unknown) => e)).toMatchObject({ code: 'UNAUTHENTICATED', closeCode: 4403 });
  });

  it('asks getToken for every request and connection', async () => {
    let asked = 0;
    const parley = createParleyClient({
      url: p.url,
      webSocketImpl: WebSocket,
      getToken: async () => {
        asked++;
        return key;
      },
    });
    const conversation = await parley.conversations.create({ title: 'tokens' });
    const stream = await parley.chat.send({ conversationId: conversation.id, content: 'hi' });
    expect((await stream.finalMessage()).done).toBe(true);
    expect(asked).toBe(3);
  });
});
