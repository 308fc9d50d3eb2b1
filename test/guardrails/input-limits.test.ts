import { startTestParley, type GqlResult, type TestParley } from '../support/parley';
import { SEND } from '../runs/run-helpers';

const APPEND = 'mutation($input: AppendMessageInput!) { appendMessage(input: $input) { message { id toolCalls { id } } } }';
const IMPORT = 'mutation($input: ImportConversationInput!) { importConversation(input: $input) { conversation { id } } }';

const refused = (res: GqlResult, field: string) => {
  expect(res.data ?? null).toBeNull();
  expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
};

/** Every list and JSON value a client sends is bounded, and refused by name past its bound. */
describe('size limits on list and JSON inputs', () => {
  let p: TestParley;
  let conversationId: string;
  beforeAll(async () => {
    p = await startTestParley();
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "limits" }) { conversation { id } } }');
    conversationId = c.data!.createConversation.conversation.id;
  });
  afterAll(() => p?.stop());

  const calls = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `call_${i}`, name: 'calculator', arguments: '{}' }));

  it('appendMessage takes at most 128 tool calls, each with bounded parts', async () => {
    const ok = await p.gql<{ appendMessage: { message: { toolCalls: unknown[] } } }>(APPEND, { input: { conversationId, role: 'ASSISTANT', content: '', toolCalls: calls(128) } });
    expect(ok.data?.appendMessage.message.toolCalls).toHaveLength(128);
    refused(await p.gql(APPEND, { input: { conversationId, role: 'ASSISTANT', content: '', toolCalls: calls(20_000) } }), 'toolCalls');
    refused(await p.gql(APPEND, { input: { conversationId, role: 'ASSISTANT', content: '', toolCalls: [{ id: 'x'.repeat(201), name: 'calculator', arguments: '{}' }] } }), 'toolCalls.id');
  });

  it('run settings bound their tool lists', async () => {
    const tools = Array.from({ length: 51 }, () => 'calculator');
    refused(await p.gql(SEND, { input: { conversationId, content: 'hi', settings: { tools } } }), 'settings.tools');
    const clientTools = Array.from({ length: 129 }, (_, i) => ({ name: `t${i}`, description: 'd', parameters: { type: 'object' } }));
    refused(await p.gql(SEND, { input: { conversationId, content: 'hi', settings: { clientTools } } }), 'settings.clientTools');
  });

  it('submitToolOutputs refuses an oversized list before matching it', async () => {
    const toolOutputs = Array.from({ length: 10_000 }, (_, i) => ({ toolCallId: `call_${i}`, output: 'x' }));
    const res = await p.gql('mutation($input: SubmitToolOutputsInput!) { submitToolOutputs(input: $input) { run { id } } }', {
      input: { runId: '00000000-0000-4000-8000-000000000000', toolOutputs },
    });
    // The run does not exist: the bound is checked first or the run is not found; never a 500 with 10 000 ids in it.
    expect(['BAD_USER_INPUT', 'NOT_FOUND']).toContain(res.errors?.[0].extensions?.code);
    expect(res.errors![0].message.length).toBeLessThan(500);
  });

  it('importConversation refuses a document nested deeper than 32 levels, and an oversized agent tool list is refused', async () => {
    // Written by hand: JSON.stringify itself overflows the stack on 10 000 levels.
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const body = `{"query":${JSON.stringify(IMPORT)},"variables":{"input":{"format":"PARLEY","data":{"version":1,"conversation":{},"messages":[],"extra":${deep}}}}}`;
    const res = await fetch(p.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${p.adminKey}` }, body });
    refused((await res.json()) as GqlResult, 'data');
    const tools = Array.from({ length: 51 }, () => 'calculator');
    refused(await p.gql('mutation($input: CreateAgentInput!) { createAgent(input: $input) { agent { id } } }', { input: { name: 'a', model: 'demo/demo', tools } }), 'tools');
  });
});
