import { startTestParley, type TestParley } from '../support/parley';

const APPEND = `mutation($input: AppendMessageInput!) { appendMessage(input: $input) { message { id role content depth parent { id } } } }`;
const PATH = `query($id: ID!, $first: Int, $after: String, $leafId: ID) { conversation(id: $id) {
  activeLeaf { id }
  messages(first: $first, after: $after, leafId: $leafId) { edges { cursor node { id content depth siblingIndex siblingCount children { id } siblings { id } } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }`;

type Msg = { id: string; content: string; depth: number; siblingIndex: number; siblingCount: number; children: { id: string }[]; siblings: { id: string }[] };
type PathData = { conversation: { activeLeaf: { id: string } | null; messages: { edges: { cursor: string; node: Msg }[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string } } } };

describe('messages and the conversation tree', () => {
  let p: TestParley;
  let key: string;
  let conversationId: string;
  const append = async (input: Record<string, unknown>) => {
    const res = await p.gql<{ appendMessage: { message: { id: string; depth: number } } }>(APPEND, { input: { conversationId, ...input } }, key);
    if (!res.data) throw new Error(JSON.stringify(res.errors));
    return res.data.appendMessage.message;
  };

  beforeAll(async () => {
    p = await startTestParley();
    key = (await p.newUser()).apiKey;
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "tree" }) { conversation { id } } }', {}, key);
    conversationId = c.data!.createConversation.conversation.id;
  });
  afterAll(() => p.stop());

  it('appends along the active branch, branches on an explicit parent, and walks any leaf', async () => {
    const sys = await append({ role: 'SYSTEM', content: 'be brief' });
    const u1 = await append({ role: 'USER', content: 'hello' });
    const a1 = await append({ role: 'ASSISTANT', content: 'hi!' });
    expect([sys.depth, u1.depth, a1.depth]).toEqual([0, 1, 2]);
    // A second answer to u1 is a new branch; it becomes active.
    const a1b = await append({ role: 'ASSISTANT', content: 'hey there', parentId: u1.id });
    const u2 = await append({ role: 'USER', content: 'and then?' });

    const active = await p.gql<PathData>(PATH, { id: conversationId }, key);
    const conv = active.data!.conversation;
    expect(conv.activeLeaf?.id).toBe(u2.id);
    expect(conv.messages.edges.map((e) => e.node.content)).toEqual(['be brief', 'hello', 'hey there', 'and then?']);
    const a1bNode = conv.messages.edges[2].node;
    expect(a1bNode).toMatchObject({ siblingIndex: 1, siblingCount: 2, siblings: [{ id: a1.id }, { id: a1b.id }], children: [{ id: u2.id }] });
    const u1Node = conv.messages.edges[1].node;
    expect(u1Node.children.map((c) => c.id)).toEqual([a1.id, a1b.id]);

    const old = await p.gql<PathData>(PATH, { id: conversationId, leafId: a1.id }, key);
    expect(old.data!.conversation.messages.edges.map((e) => e.node.content)).toEqual(['be brief', 'hello', 'hi!']);
    expect(old.data!.conversation.messages.edges[2].node.siblingIndex).toBe(0);
  });

  it('pages a long path root first with cursors', async () => {
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: {}) { conversation { id } } }', {}, key);
    const id = c.data!.createConversation.conversation.id;
    for (let i = 0; i < 25; i++) {
      await p.gql(APPEND, { input: { conversationId: id, role: i % 2 ? 'ASSISTANT' : 'USER', content: `m${i}` } }, key);
    }
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const res = await p.gql<PathData>(PATH, { id, first: 10, after }, key);
      const page = res.data!.conversation.messages;
      expect(page.pageInfo.hasPreviousPage).toBe(pages > 0);
      seen.push(...page.edges.map((e) => e.node.content));
      pages++;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `m${i}`));
  });

  it('rejects empty, oversized and misplaced messages without writing anything', async () => {
    const before = await p.gql<PathData>(PATH, { id: conversationId, first: 100 }, key);
    const other = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: {}) { conversation { id } } }', {}, key);
    const otherId = other.data!.createConversation.conversation.id;
    const foreign = await p.gql<{ appendMessage: { message: { id: string } } }>(APPEND, { input: { conversationId: otherId, role: 'USER', content: 'elsewhere' } }, key);
    const cases: [Record<string, unknown>, string, string?][] = [
      [{ role: 'USER', content: '' }, 'BAD_USER_INPUT', 'content'],
      [{ role: 'USER', content: '   ' }, 'BAD_USER_INPUT', 'content'],
      [{ role: 'USER', content: 'x'.repeat(100_001) }, 'BAD_USER_INPUT', 'content'],
      [{ role: 'USER', content: 'nul \u0000 inside' }, 'BAD_USER_INPUT', 'content'],
      [{ role: 'TOOL', content: 'result' }, 'BAD_USER_INPUT', 'toolCallId'],
      // The active leaf is a USER message: there is no tool call to answer.
      [{ role: 'TOOL', content: 'result', toolCallId: 'call_1' }, 'BAD_USER_INPUT', 'toolCallId'],
      [{ role: 'USER', content: 'x', parentId: 'nope' }, 'BAD_USER_INPUT', 'parentId'],
      [{ role: 'USER', content: 'x', parentId: foreign.data!.appendMessage.message.id }, 'NOT_FOUND'],
      [{ role: 'WIZARD', content: 'x' }, 'BAD_USER_INPUT'],
    ];
    for (const [input, code, field] of cases) {
      const res = await p.gql(APPEND, { input: { conversationId, ...input } }, key);
      expect({ input: Object.keys(input), ext: res.errors?.[0].extensions }).toMatchObject({ ext: { code, ...(field ? { field } : {}) } });
    }
    const after = await p.gql<PathData>(PATH, { id: conversationId, first: 100 }, key);
    expect(after.data).toEqual(before.data);
  });

  it('appends TOOL messages only as answers to the calls of the assistant turn before them', async () => {
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: {}) { conversation { id } } }', {}, key);
    const conv = c.data!.createConversation.conversation.id;
    const append = (input: Record<string, unknown>) => p.gql<{ appendMessage: { message: { id: string } } }>(APPEND, { input: { conversationId: conv, setActive: true, ...input } }, key);
    await append({ role: 'USER', content: 'two sums' });
    const calls = [{ id: 'c1', name: 'calculator', arguments: '{"expression":"1+1"}' }, { id: 'c2', name: 'calculator', arguments: '{"expression":"2+2"}' }];
    expect((await append({ role: 'ASSISTANT', content: '', toolCalls: calls })).errors).toBeUndefined();
    expect((await append({ role: 'TOOL', content: '2', toolCallId: 'c1' })).errors).toBeUndefined();
    expect((await append({ role: 'TOOL', content: '4', toolCallId: 'c2' })).errors).toBeUndefined();
    const stray = await append({ role: 'TOOL', content: '?', toolCallId: 'c3' });
    expect(stray.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'toolCallId' }, message: expect.stringMatching(/"c3"/) });
  });

  it("hides another user's messages and rejects a leaf from another conversation", async () => {
    const stranger = await p.newUser();
    const path = await p.gql<PathData>(PATH, { id: conversationId }, key);
    const someId = path.data!.conversation.messages.edges[0].node.id;
    const res = await p.gql('query($id: ID!) { message(id: $id) { id } }', { id: someId }, stranger.apiKey);
    expect(res.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: {}) { conversation { id } } }', {}, key);
    const wrongLeaf = await p.gql(PATH, { id: c.data!.createConversation.conversation.id, leafId: someId }, key);
    expect(wrongLeaf.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});
