/**
 * Pure checks and planning of an imported tree: the document's own ids and
 * parent links are checked as a whole (duplicates, unknown parents, cycles),
 * depths are computed, and every node gets a fresh id. The database only
 * executes the plan (see transfer.sql.ts).
 */

/** A node as the document gives it: its own id and its parent's, both in the document's id space. */
export interface DocNode {
  key: string;
  parentKey: string | null;
}

/** A problem with one node, named by its index in the document. */
export interface NodeProblem {
  index: number;
  /** Path below the node, e.g. `parentId`. */
  field: string;
  message: string;
}

export interface PlannedNode {
  /** Index in the document. */
  index: number;
  id: string;
  parentId: string | null;
  depth: number;
}

const quote = (key: string): string => JSON.stringify(key);

/**
 * The first problem in document order, or the depth of every node. A node is
 * bad when its id repeats an earlier one, its parent is not in the document,
 * or it lies on a cycle of parent links; nodes that merely hang below a cycle
 * are not blamed, the cycle is.
 */
export function checkTree(nodes: readonly DocNode[]): { depths: number[] } | { problem: NodeProblem } {
  const problems = new Map<number, NodeProblem>();
  const blame = (p: NodeProblem) => {
    if (!problems.has(p.index)) problems.set(p.index, p);
  };
  const indexOf = new Map<string, number>();
  nodes.forEach((n, i) => {
    const first = indexOf.get(n.key);
    if (first === undefined) indexOf.set(n.key, i);
    else blame({ index: i, field: 'id', message: `duplicate id ${quote(n.key)} (first used by messages[${first}])` });
  });
  nodes.forEach((n, i) => {
    if (n.parentKey !== null && !indexOf.has(n.parentKey)) {
      blame({ index: i, field: 'parentId', message: `unknown parent ${quote(n.parentKey)}` });
    }
  });

  const depths = new Array<number>(nodes.length).fill(-1);
  const state = new Uint8Array(nodes.length); // 0 unseen, 1 on the current walk, 2 done
  for (let start = 0; start < nodes.length; start++) {
    if (state[start] !== 0) continue;
    const walk: number[] = [];
    let i: number | undefined = start;
    // Up through parent links until a root, a node already done, or a node of this walk (a cycle).
    while (i !== undefined && state[i] === 0) {
      state[i] = 1;
      walk.push(i);
      const parent: string | null = nodes[i].parentKey;
      i = parent === null ? undefined : indexOf.get(parent);
    }
    if (i !== undefined && state[i] === 1) {
      const cycle = walk.slice(walk.indexOf(i));
      const path = [...cycle, cycle[0]].map((j) => quote(nodes[j].key)).join(' → ');
      for (const j of cycle) blame({ index: j, field: 'parentId', message: `parent links form a cycle: ${path}` });
    }
    // Depths down the walk from where it stopped (a root's parent is depth -1). After a cycle the numbers
    // are meaningless, but then a problem is reported and they are never used.
    let depth = i === undefined ? -1 : depths[i];
    for (let k = walk.length - 1; k >= 0; k--) {
      depths[walk[k]] = ++depth;
      state[walk[k]] = 2;
    }
  }
  if (problems.size) return { problem: problems.get(Math.min(...problems.keys()))! };
  return { depths };
}

/**
 * Fresh ids for every node, handed out in ascending order parents first
 * (by depth, then document order): ids sort by creation, so siblings keep the
 * document's order and every parent sorts before its children, as messages
 * written one by one would.
 */
export function planImport(nodes: readonly DocNode[], depths: readonly number[], newId: () => string): PlannedNode[] {
  const order = nodes.map((_, i) => i).sort((a, b) => depths[a] - depths[b] || a - b);
  const ids = order.map(() => newId()).sort();
  const idOf = new Map<string, string>();
  order.forEach((index, k) => idOf.set(nodes[index].key, ids[k]));
  return order.map((index) => {
    const parentKey = nodes[index].parentKey;
    return {
      index,
      id: idOf.get(nodes[index].key)!,
      parentId: parentKey === null ? null : idOf.get(parentKey)!,
      depth: depths[index],
    };
  });
}

/** `messages[3].parentId` from ('messages', 3, 'parentId'). */
export function fieldPath(parts: readonly (string | number)[]): string {
  return parts.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}
