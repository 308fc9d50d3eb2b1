import { startTestParley, type TestParley } from '../support/parley';
import { buildTree, failure, newConversation, ok, setUsage, sql, sumUsage, allPages, type Spec, type Usage } from './tree-helpers';

/*
 *   r ─ a1 ─ u2 ─ a2        (leaf)
 *   │     └─ u2b            (leaf)
 *   └─ a1b ─ u3 ─ a3        (leaf)
 *               └─ a3b      (leaf)
 *   r2                      (a second root, itself a leaf)
 */
const SHAPE: Spec[] = [
  { name: 'r', parent: null },
  { name: 'a1', parent: 'r', role: 'ASSISTANT' },
  { name: 'a1b', parent: 'r', role: 'ASSISTANT' },
  { name: 'u2', parent: 'a1' },
  { name: 'u2b', parent: 'a1' },
  { name: 'a2', parent: 'u2', role: 'ASSISTANT' },
  { name: 'u3', parent: 'a1b' },
  { name: 'a3', parent: 'u3', role: 'ASSISTANT' },
  { name: 'a3b', parent: 'u3', role: 'ASSISTANT' },
  { name: 'r2', parent: null },
];
const PATHS: Record<string, string[]> = {
  a2: ['r', 'a1', 'u2', 'a2'],
  u2b: ['r', 'a1', 'u2b'],
  a3: ['r', 'a1b', 'u3', 'a3'],
  a3b: ['r', 'a1b', 'u3', 'a3b'],
  r2: ['r2'],
};
/** Leaves from the most to the least recently active (their updated_at is set so). */
const ACTIVITY_ORDER = ['u2b', 'a3', 'r2', 'a2', 'a3b'];

const usageOf = (i: number): Usage => ({
  promptTokens: 10 * (i + 1),
  completionTokens: 3 * (i + 1),
  reasoningTokens: i,
  cachedTokens: i % 3,
  costUsd: 0.0015 * (i + 1),
});

interface BranchNode {
  leaf: { id: string; depth: number };
  length: number;
  lastActivityAt: string;
  isActive: boolean;
  usage: Usage & { totalTokens: number };
}
type BranchPage = { edges: { cursor: string; node: BranchNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

const BRANCHES = `query($id: ID!, $first: Int, $after: String) { conversation(id: $id) { branches(first: $first, after: $after) {
  edges { cursor node { leaf { id depth } length lastActivityAt isActive
    usage { promptTokens completionTokens reasoningTokens cachedTokens totalTokens costUsd } } }
  pageInfo { hasNextPage endCursor } } } }`;
const SET_ACTIVE = `mutation($input: SetActiveLeafInput!) { setActiveLeaf(input: $input) { conversation { id version updatedAt activeLeaf { id } } } }`;
const PATH = `query($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node { id } } } } }`;

describe('Conversation.branches and setActiveLeaf', () => {
  let p: TestParley;
  let key: string;
  let c: string;
  let ids: Map<string, string>;
  const usage = new Map<string, Usage>();

  beforeAll(async () => {
    p = await startTestParley();
    key = (await p.newUser()).apiKey;
    c = await newConversation(p, key);
    ids = await buildTree(p, key, c, SHAPE);
    for (const [i, s] of SHAPE.entries()) {
      usage.set(s.name, usageOf(i));
      await setUsage(p, ids.get(s.name)!, usageOf(i));
    }
    for (const [i, leaf] of ACTIVITY_ORDER.entries()) {
      await sql(p, `update messages set updated_at = now() - make_interval(mins => ?) where id = ?`, [i + 1, ids.get(leaf)]);
    }
  });
  afterAll(() => p.stop());

  const branches = async (first: number, after: string | null, k = key) =>
    ok(await p.gql<{ conversation: { branches: BranchPage } }>(BRANCHES, { id: c, first, after }, k)).conversation.branches;
  const setActive = (messageId: string, conversationId = c, k = key) =>
    p.gql<{ setActiveLeaf: { conversation: { id: string; version: number; updatedAt: string; activeLeaf: { id: string } | null } } }>(
      SET_ACTIVE,
      { input: { conversationId, messageId } },
      k,
    );
  const activePath = async () =>
    ok(await p.gql<{ conversation: { messages: { edges: { node: { id: string } }[] } } }>(PATH, { id: c }, key)).conversation.messages.edges.map(
      (e) => e.node.id,
    );
  const nameOf = (id: string) => [...ids].find(([, v]) => v === id)![0];

  it('lists every leaf once, most recently active first, with its length and the usage of its whole path', async () => {
    const { nodes, pages } = await allPages((after) => branches(2, after));
    expect(pages).toBe(3);
    expect(nodes.map((b) => nameOf(b.leaf.id))).toEqual(ACTIVITY_ORDER);
    for (const b of nodes) {
      const path = PATHS[nameOf(b.leaf.id)];
      expect(b.length).toBe(path.length);
      expect(b.leaf.depth).toBe(path.length - 1);
      const expected = sumUsage(path.map((n) => usage.get(n)!));
      const { costUsd, totalTokens, ...tokens } = b.usage;
      const { costUsd: expectedCost, ...expectedTokens } = expected;
      expect(tokens).toEqual(expectedTokens);
      expect(totalTokens).toBe(expected.promptTokens + expected.completionTokens);
      expect(costUsd).toBeCloseTo(expectedCost, 9);
    }
    const times = nodes.map((b) => Date.parse(b.lastActivityAt));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
  });

  it('agrees with Conversation.branchUsage for every leaf', async () => {
    const q = `query($id: ID!, $leaf: ID) { conversation(id: $id) { branchUsage(leafId: $leaf) { promptTokens completionTokens costUsd } } }`;
    for (const b of (await branches(100, null)).edges.map((e) => e.node)) {
      const bu = ok(await p.gql<{ conversation: { branchUsage: Usage } }>(q, { id: c, leaf: b.leaf.id }, key)).conversation.branchUsage;
      expect(bu.promptTokens).toBe(b.usage.promptTokens);
      expect(bu.completionTokens).toBe(b.usage.completionTokens);
      expect(bu.costUsd).toBeCloseTo(b.usage.costUsd, 9);
    }
  });

  it('setActiveLeaf moves the active branch: messages() follows it and exactly that branch is active', async () => {
    const before = ok(await setActive(ids.get('a2')!)).setActiveLeaf.conversation;
    const moved = ok(await setActive(ids.get('a3')!)).setActiveLeaf.conversation;
    expect(moved.activeLeaf?.id).toBe(ids.get('a3'));
    // Navigation is not an edit: no version bump, no reordering of conversation lists.
    expect(moved.version).toBe(before.version);
    expect(moved.updatedAt).toBe(before.updatedAt);
    expect(await activePath()).toEqual(PATHS.a3.map((n) => ids.get(n)));
    const active = (await branches(100, null)).edges.filter((e) => e.node.isActive).map((e) => nameOf(e.node.leaf.id));
    expect(active).toEqual(['a3']);
  });

  it('setActiveLeaf on an inner message makes the path to it the active branch, and no leaf is active', async () => {
    ok(await setActive(ids.get('u3')!));
    expect(await activePath()).toEqual(['r', 'a1b', 'u3'].map((n) => ids.get(n)));
    expect((await branches(100, null)).edges.some((e) => e.node.isActive)).toBe(false);
  });

  it('rejects a message of another conversation, another user and a malformed id', async () => {
    const other = await newConversation(p, key, 'other');
    const [elsewhere] = (await buildTree(p, key, other, [{ name: 'x', parent: null }])).values();
    expect(failure(await setActive(elsewhere))).toMatchObject({ code: 'NOT_FOUND' });
    const stranger = (await p.newUser()).apiKey;
    expect(failure(await setActive(ids.get('a2')!, c, stranger))).toMatchObject({ code: 'NOT_FOUND' });
    const strangerRead = await p.gql(BRANCHES, { id: c, first: 5, after: null }, stranger);
    expect(failure(strangerRead)).toMatchObject({ code: 'NOT_FOUND' });
    expect(failure(await setActive('nope'))).toEqual(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'messageId' }));
    // Nothing moved.
    expect(await activePath()).toEqual(['r', 'a1b', 'u3'].map((n) => ids.get(n)));
  });

  it('rejects a cursor from another list', async () => {
    const res = await p.gql(BRANCHES, { id: c, first: 2, after: 'WyJ0cmVlIiwiYSJd' }, key);
    expect(failure(res)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('an empty conversation has no branches', async () => {
    const empty = await newConversation(p, key, 'empty');
    const res = ok(await p.gql<{ conversation: { branches: BranchPage } }>(BRANCHES, { id: empty, first: 5, after: null }, key));
    expect(res.conversation.branches).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });
});
