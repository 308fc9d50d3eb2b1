import type { Harness } from '../runs/fake-run-harness';
import { append, failure, newConversation, NODE, ok, path, say, startBranchHarness, type Node } from './branch-helpers';

const FORK = `mutation($input: ForkConversationInput!) { forkConversation(input: $input) { conversation {
  id title tags settings { systemPrompt } activeLeaf { id } forkedFrom { conversationId messageId mode } } } }`;
type ForkData = {
  forkConversation: {
    conversation: {
      id: string; title: string; tags: string[]; settings: { systemPrompt: string | null }; activeLeaf: { id: string };
      forkedFrom: { conversationId: string; messageId: string; mode: string };
    };
  };
};

/** One message and its replies' ids: trees are walked a level per request (a nested `children` document is refused by the query cost limit). */
const NODE_WITH_CHILDREN = `query($id: ID!) { message(id: $id) { ${NODE} children { id } } }`;
type NodeWithChildren = Node & { children: { id: string }[] };

/** The whole tree below (and including) a message, parents before children, siblings in order. */
async function subtree(h: Harness, rootId: string): Promise<Node[]> {
  const out: Node[] = [];
  const walk = async (id: string): Promise<void> => {
    const { children, ...node } = ok(await h.p.gql<{ message: NodeWithChildren }>(NODE_WITH_CHILDREN, { id }, h.key)).message;
    out.push(node);
    for (const c of children) await walk(c.id);
  };
  await walk(rootId);
  return out;
}

/**
 * Everything a copy must keep, with ids replaced by positions in the list, so
 * a source list and a fork list compare node by node: same structure (parent
 * links), content, roles, reasoning, tool calls, usage, timing and status.
 */
function shape(nodes: Node[], depthShift = 0) {
  const position = new Map(nodes.map((n, i) => [n.id, i]));
  return nodes.map(({ id: _id, parent, run: _run, depth, ...rest }) => ({
    ...rest,
    depth: depth - depthShift,
    parent: parent ? (position.get(parent.id) ?? 'outside') : null,
  }));
}

describe('forkConversation', () => {
  let h: Harness;
  let source: string;
  let nodes: Record<string, string>;

  beforeAll(async () => {
    h = await startBranchHarness();
    /*
     * system ─ hello ─ a1 ─┬─ more ─ a2
     *                      ├─ other ─ a3          (a3 written by another model)
     *                      └─ tools ─ call ─ tool ─ done   (imported with tool calls)
     */
    source = await newConversation(h, 'Source');
    const system = await append(h, { conversationId: source, role: 'SYSTEM', content: 'Be brief.' });
    const hello = await say(h, { conversationId: source, content: 'hello' });
    const [, , a1] = await path(h, source);
    await say(h, { conversationId: source, content: 'more', parentId: a1.id });
    await say(h, { conversationId: source, content: 'other', parentId: a1.id, model: 'demo/beta' });
    const tools = await append(h, { conversationId: source, role: 'USER', content: 'tools', parentId: a1.id });
    const call = await append(h, {
      conversationId: source, role: 'ASSISTANT', content: 'Calling.', reasoning: 'use the tool', model: 'demo/imported',
      toolCalls: [{ id: 'call_1', name: 'calculator', arguments: '{"expression":"1+1"}' }],
    });
    const tool = await append(h, { conversationId: source, role: 'TOOL', content: '{"result":2}', toolCallId: 'call_1' });
    const done = await append(h, { conversationId: source, role: 'ASSISTANT', content: 'It is 2.' });
    nodes = { system, hello: hello.message.id, a1: a1.id, tools, call, tool, done };
  });
  afterAll(() => h.stop());

  const fork = (input: Record<string, unknown>, key = h.key) => h.p.gql<ForkData>(FORK, { input }, key);

  it('PATH copies root → message, node by node, and opens at the message', async () => {
    const forked = ok(await fork({ messageId: nodes.a1, mode: 'PATH' })).forkConversation.conversation;
    expect(forked).toMatchObject({
      title: 'Source (fork)', tags: ['b'], settings: { systemPrompt: 'Be brief.' },
      forkedFrom: { conversationId: source, messageId: nodes.a1, mode: 'PATH' },
    });
    const copied = await path(h, forked.id);
    const original = await path(h, source, nodes.a1);
    expect(copied).toHaveLength(3);
    expect(shape(copied)).toEqual(shape(original));
    expect(original[2].usage.completionTokens).toBeGreaterThan(0);
    expect(original[2].latencyMs).not.toBeNull();
    expect(forked.activeLeaf.id).toBe(copied[2].id);
    // New ids everywhere; runs stay with the source.
    expect(copied.filter((m) => original.some((o) => o.id === m.id))).toEqual([]);
    expect(copied.every((m) => m.run === null)).toBe(true);
  });

  it('BRANCHES copies the path and every branch below the message', async () => {
    const forked = ok(await fork({ messageId: nodes.a1, mode: 'BRANCHES', title: 'All of it' })).forkConversation.conversation;
    expect(forked.title).toBe('All of it');
    const [root] = await path(h, forked.id);
    const copied = await subtree(h, root.id);
    const original = await subtree(h, nodes.system);
    expect(copied).toHaveLength(11);
    expect(shape(copied)).toEqual(shape(original));
    // The source's active leaf (the end of the tool branch) lies below a1, so the fork opens there too.
    expect(forked.activeLeaf.id).toBe(copied[copied.length - 1].id);
    expect(copied[copied.length - 1].content).toBe('It is 2.');
  });

  it('SUBTREE copies only the message and what is below it, with the message as root', async () => {
    const forked = ok(await fork({ messageId: nodes.tools, mode: 'SUBTREE' })).forkConversation.conversation;
    const copied = await path(h, forked.id);
    const original = await path(h, source, nodes.done);
    const below = original.slice(original.findIndex((m) => m.id === nodes.tools));
    expect(copied.map((m) => m.depth)).toEqual([0, 1, 2, 3]);
    expect(shape(copied)).toEqual(shape(below, below[0].depth).map((n, i) => (i === 0 ? { ...n, parent: null } : n)));
    expect(copied[1]).toMatchObject({ reasoning: 'use the tool', model: 'demo/imported', toolCalls: [{ id: 'call_1', name: 'calculator' }] });
    expect(copied[2].toolCallId).toBe('call_1');
    expect(forked.activeLeaf.id).toBe(copied[3].id);
  });

  it('leaves the source as it was and lets the fork go on by itself', async () => {
    const before = await subtree(h, nodes.system);
    const forked = ok(await fork({ messageId: nodes.hello, mode: 'PATH' })).forkConversation.conversation;
    await say(h, { conversationId: forked.id, content: 'continuing in the fork' });
    expect((await path(h, forked.id)).map((m) => m.content.slice(0, 9))).toEqual(['Be brief.', 'hello', 'continuin', 'You said:']);
    expect(await subtree(h, nodes.system)).toEqual(before);
  });

  it("answers NOT_FOUND for another user's message and BAD_USER_INPUT for bad ids, writing nothing", async () => {
    const stranger = await h.p.newUser();
    expect(failure(await fork({ messageId: nodes.a1, mode: 'BRANCHES' }, stranger.apiKey)).code).toBe('NOT_FOUND');
    expect(failure(await fork({ messageId: 'not-an-id', mode: 'PATH' }))).toEqual({ code: 'BAD_USER_INPUT', field: 'messageId' });
    expect(failure(await fork({ messageId: nodes.a1, mode: 'SIDEWAYS' })).code).toBe('BAD_USER_INPUT');
    expect(failure(await fork({ messageId: nodes.a1, mode: 'PATH', title: ' ' }))).toEqual({ code: 'BAD_USER_INPUT', field: 'title' });
    const theirs = ok(await h.p.gql<{ conversations: { edges: unknown[] } }>('{ conversations { edges { cursor } } }', {}, stranger.apiKey));
    expect(theirs.conversations.edges).toEqual([]);
  });
});
