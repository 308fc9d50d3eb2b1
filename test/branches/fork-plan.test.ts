import { ForkMode, forkTitle, isAtOrBelow, planFork, type ForkNode } from '../../src/modules/branches/fork';
import { readEdits } from '../../src/modules/branches/message-edits';
import { comparisonBranchKey, requireComparisonModels } from '../../src/modules/branches/comparison';

/*
 * r ─ a ─ b ─ c
 *      └─ d ─ e
 *          └─ f
 * Ids sort like their creation order (UUIDv7), so single letters stand in.
 */
const TREE: ForkNode[] = [
  { id: 'r', parentId: null, depth: 0 },
  { id: 'a', parentId: 'r', depth: 1 },
  { id: 'b', parentId: 'a', depth: 2 },
  { id: 'c', parentId: 'b', depth: 3 },
  { id: 'd', parentId: 'a', depth: 2 },
  { id: 'e', parentId: 'd', depth: 3 },
  { id: 'f', parentId: 'd', depth: 3 },
];
const pick = (...ids: string[]) => TREE.filter((n) => ids.includes(n.id));
/** New ids handed out in reverse, so the test proves the plan sorts them. */
const counter = () => {
  let n = 100;
  return () => `n${n--}`;
};

describe('planFork', () => {
  it('copies a path with the same depths, parent links remapped, roots kept roots', () => {
    const plan = planFork(pick('r', 'a', 'd'), { messageId: 'd', mode: ForkMode.PATH, sourceActiveLeafId: 'e', newId: counter() });
    const byOld = new Map(plan.copies.map((c) => [c.oldId, c]));
    expect(byOld.get('r')).toMatchObject({ newParentId: null, newDepth: 0 });
    expect(byOld.get('a')!.newParentId).toBe(byOld.get('r')!.newId);
    expect(byOld.get('d')).toMatchObject({ newParentId: byOld.get('a')!.newId, newDepth: 2 });
    // The source's leaf e was not copied: the fork opens at the forked message.
    expect(plan.activeLeafId).toBe(byOld.get('d')!.newId);
  });

  it('keeps the order of ids, so siblings keep their order', () => {
    const plan = planFork(TREE, { messageId: 'a', mode: ForkMode.BRANCHES, sourceActiveLeafId: null, newId: counter() });
    const olds = plan.copies.map((c) => c.oldId);
    const news = plan.copies.map((c) => c.newId);
    expect(olds).toEqual([...olds].sort());
    expect(news).toEqual([...news].sort());
    expect(new Set(news).size).toBe(TREE.length);
  });

  it('makes the message the root of a subtree and shifts depths', () => {
    const plan = planFork(pick('d', 'e', 'f'), { messageId: 'd', mode: ForkMode.SUBTREE, sourceActiveLeafId: 'f', newId: counter() });
    const byOld = new Map(plan.copies.map((c) => [c.oldId, c]));
    expect(byOld.get('d')).toMatchObject({ newParentId: null, newDepth: 0 });
    expect(byOld.get('e')).toMatchObject({ newParentId: byOld.get('d')!.newId, newDepth: 1 });
    expect(plan.activeLeafId).toBe(byOld.get('f')!.newId);
  });

  it('keeps the source leaf only when it lies at or below the message', () => {
    const at = (mode: ForkMode, leaf: string | null, nodes = TREE) =>
      planFork(nodes, { messageId: 'd', mode, sourceActiveLeafId: leaf, newId: counter() });
    const copyOf = (plan: ReturnType<typeof at>, id: string) => plan.copies.find((c) => c.oldId === id)!.newId;
    let plan = at(ForkMode.BRANCHES, 'e');
    expect(plan.activeLeafId).toBe(copyOf(plan, 'e'));
    plan = at(ForkMode.BRANCHES, 'c'); // copied (a sibling branch), but not below d
    expect(plan.activeLeafId).toBe(copyOf(plan, 'd'));
    plan = at(ForkMode.BRANCHES, 'a'); // above d: would hide the forked message
    expect(plan.activeLeafId).toBe(copyOf(plan, 'd'));
    plan = at(ForkMode.PATH, 'd', pick('r', 'a', 'd'));
    expect(plan.activeLeafId).toBe(copyOf(plan, 'd'));
  });

  it('refuses a selection without the message', () => {
    expect(() => planFork(pick('r'), { messageId: 'd', mode: ForkMode.PATH, sourceActiveLeafId: null, newId: counter() })).toThrow(/not among/);
  });

  it('walks parent links only inside the selection', () => {
    const byId = new Map(pick('d', 'e').map((n) => [n.id, n]));
    expect(isAtOrBelow(byId, 'e', 'd')).toBe(true);
    expect(isAtOrBelow(byId, 'e', 'a')).toBe(false);
    expect(isAtOrBelow(byId, 'x', 'd')).toBe(false);
  });

  it('titles a fork within the limit', () => {
    expect(forkTitle('Trip', 200)).toBe('Trip (fork)');
    const long = forkTitle('x'.repeat(200), 200);
    expect(long).toHaveLength(200);
    expect(long.endsWith(' (fork)')).toBe(true);
  });
});

describe('readEdits', () => {
  it('reads well-formed entries and skips the rest', () => {
    const edits = readEdits({
      edits: [
        { at: '2026-01-01T00:00:00.000Z', previousContent: 'helo' },
        { at: 'not a date', previousContent: 'x' },
        { at: '2026-01-02T00:00:00.000Z' },
        null,
        { at: '2026-01-03T00:00:00.000Z', previousContent: 'hello' },
      ],
    });
    expect(edits).toEqual([
      { at: new Date('2026-01-01T00:00:00.000Z'), previousContent: 'helo' },
      { at: new Date('2026-01-03T00:00:00.000Z'), previousContent: 'hello' },
    ]);
    expect(readEdits(null)).toEqual([]);
    expect(readEdits({ edits: 'nope' })).toEqual([]);
  });
});

describe('comparison models', () => {
  it('accepts 2 to 5 distinct ids, trimmed, in order', () => {
    expect(requireComparisonModels([' demo/a', 'demo/b '])).toEqual(['demo/a', 'demo/b']);
  });

  it.each([
    [['demo/a'], /2 to 5/],
    [['a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'a/6'], /2 to 5/],
    [['demo/a', 'demo/a'], /twice/],
    [['demo/a', '  '], /empty/],
  ])('rejects %j', (models, message) => {
    expect(() => requireComparisonModels(models)).toThrow(message);
    try {
      requireComparisonModels(models);
    } catch (err) {
      expect((err as { details: { field: string } }).details.field).toBe('models');
    }
  });

  it('gives each run a branch key of its own that sorts by position and fits the column', () => {
    const id = '0196f2a4-7c1d-7abc-8def-0123456789ab';
    const keys = [0, 1, 2, 3, 4].map((i) => comparisonBranchKey(id, i));
    expect(new Set(keys).size).toBe(5);
    expect([...keys].sort()).toEqual(keys);
    expect(Math.max(...keys.map((k) => k.length))).toBeLessThanOrEqual(64);
  });
});
