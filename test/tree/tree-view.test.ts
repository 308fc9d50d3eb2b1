import { startTestParley, type TestParley } from '../support/parley';
import { allPages, buildTree, failure, newConversation, ok, preOrder, type Spec } from './tree-helpers';

interface TreeNode {
  id: string;
  parentId: string | null;
  role: string;
  depth: number;
  siblingIndex: number;
  childCount: number;
  preview: string;
  createdAt: string;
}
type TreePage = { edges: { cursor: string; node: TreeNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

const TREE = `query($id: ID!, $first: Int, $after: String) { conversation(id: $id) { tree(first: $first, after: $after) {
  edges { cursor node { id parentId role depth siblingIndex childCount preview createdAt } }
  pageInfo { hasNextPage endCursor } } } }`;
const IMPORT = `mutation($input: ImportConversationInput!) { importConversation(input: $input) { conversation { id } messageCount } }`;

/** A random tree of n messages: each picks a parent among the earlier ones (or none, now and then). */
function randomDocument(n: number, seed: number) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const messages = Array.from({ length: n }, (_, i) => {
    const parentId = i === 0 || rand() < 0.03 ? null : `m${Math.floor(rand() ** 0.3 * i)}`;
    return { id: `m${i}`, parentId, role: i % 2 ? 'ASSISTANT' : 'USER', content: `node ${i}` };
  });
  return { version: 1, conversation: { title: 'random tree' }, messages };
}

describe('Conversation.tree', () => {
  let p: TestParley;
  let key: string;

  beforeAll(async () => {
    p = await startTestParley({ countQueries: true });
    key = (await p.newUser()).apiKey;
  });
  afterAll(() => p.stop());

  const page = async (c: string, first: number, after: string | null, k = key) =>
    ok(await p.gql<{ conversation: { tree: TreePage } }>(TREE, { id: c, first, after }, k)).conversation.tree;

  it('pages through a known tree in pre-order, every node once, with parents, sibling positions, child counts and previews', async () => {
    const c = await newConversation(p, key);
    const long = 'x'.repeat(150) + 'é'.repeat(100);
    const shape: Spec[] = [
      { name: 'r', parent: null, content: long },
      { name: 'a', parent: 'r', role: 'ASSISTANT' },
      { name: 'b', parent: 'r', role: 'ASSISTANT' },
      { name: 'a1', parent: 'a' },
      { name: 'b1', parent: 'b' },
      { name: 'a2', parent: 'a' },
      { name: 'b1x', parent: 'b1', role: 'ASSISTANT' },
      { name: 'r2', parent: null, role: 'SYSTEM' },
    ];
    const ids = await buildTree(p, key, c, shape);
    const { nodes, pages } = await allPages((after) => page(c, 3, after));
    expect(pages).toBe(3);
    const name = (id: string | null) => (id === null ? null : [...ids].find(([, v]) => v === id)![0]);
    expect(nodes.map((n) => [name(n.id), name(n.parentId), n.depth, n.siblingIndex, n.childCount, n.role])).toEqual([
      ['r', null, 0, 0, 2, 'USER'],
      ['a', 'r', 1, 0, 2, 'ASSISTANT'],
      ['a1', 'a', 2, 0, 0, 'USER'],
      ['a2', 'a', 2, 1, 0, 'USER'],
      ['b', 'r', 1, 1, 1, 'ASSISTANT'],
      ['b1', 'b', 2, 0, 1, 'USER'],
      ['b1x', 'b1', 3, 0, 0, 'ASSISTANT'],
      ['r2', null, 0, 1, 0, 'SYSTEM'],
    ]);
    expect(nodes[0].preview).toBe(long.slice(0, 200));
    expect(nodes[1].preview).toBe('message a');
  });

  it('covers a random 400-message tree exactly once, in the pre-order its parent links give', async () => {
    const imported = ok(await p.gql<{ importConversation: { conversation: { id: string } } }>(IMPORT, {
      input: { format: 'PARLEY', data: randomDocument(400, 7) },
    }, key));
    const c = imported.importConversation.conversation.id;
    const { nodes, pages } = await allPages((after) => page(c, 37, after));
    expect(pages).toBe(Math.ceil(400 / 37));
    expect(new Set(nodes.map((n) => n.id)).size).toBe(400);
    expect(nodes.map((n) => n.id)).toEqual(preOrder(nodes));
    const byId = new Map(nodes.map((n) => [n.id, n]));
    for (const n of nodes) {
      const siblings = nodes.filter((m) => m.parentId === n.parentId).map((m) => m.id).sort();
      expect(n.siblingIndex).toBe(siblings.indexOf(n.id));
      expect(n.childCount).toBe(nodes.filter((m) => m.parentId === n.id).length);
      expect(n.depth).toBe(n.parentId === null ? 0 : byId.get(n.parentId)!.depth + 1);
    }
    // Siblings keep the document's order: by id, their document numbers ascend.
    const docIndex = (n: TreeNode) => Number(n.preview.slice('node '.length));
    for (const n of nodes) {
      const siblings = nodes.filter((m) => m.parentId === n.parentId).sort((x, y) => x.siblingIndex - y.siblingIndex).map(docIndex);
      expect(siblings).toEqual([...siblings].sort((x, y) => x - y));
    }
  });

  it('reads one page with one SQL statement beyond the conversation lookup', async () => {
    const c = await newConversation(p, key);
    await buildTree(p, key, c, [{ name: 'r', parent: null }, { name: 'a', parent: 'r' }]);
    const count = async (query: string) => {
      p.queries.length = 0;
      ok(await p.gql(query, { id: c }, key));
      return p.queries.filter((q) => /\b(select|with)\b/i.test(q)).length;
    };
    const base = await count('query($id: ID!) { conversation(id: $id) { id } }');
    expect(await count('query($id: ID!) { conversation(id: $id) { tree(first: 100) { edges { node { id childCount } } } } }')).toBe(base + 1);
    expect(await count('query($id: ID!) { conversation(id: $id) { branches(first: 100) { edges { node { length usage { costUsd } leaf { id } } } } } }')).toBe(base + 1);
  });

  it('rejects cursors of other lists and hides other users\' trees', async () => {
    const c = await newConversation(p, key);
    await buildTree(p, key, c, [{ name: 'r', parent: null }]);
    const bad = await p.gql(TREE, { id: c, first: 2, after: 'WyJicmFuY2hlcyIsWyJ4IiwieSJdXQ' }, key);
    expect(failure(bad)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const stranger = (await p.newUser()).apiKey;
    expect(failure(await p.gql(TREE, { id: c, first: 2 }, stranger))).toMatchObject({ code: 'NOT_FOUND' });
  });
});
