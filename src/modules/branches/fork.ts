/**
 * Pure planning of a fork: which copied node gets which new id, where it hangs
 * and which copy becomes the active leaf. The database only executes the plan
 * (see branch.sql.ts), in one INSERT … SELECT.
 */

export enum ForkMode {
  /** Root → message: the conversation as it read at that message. */
  PATH = 'PATH',
  /** The path plus every branch below the message. */
  BRANCHES = 'BRANCHES',
  /** Only the message and everything below it; the message becomes the root. */
  SUBTREE = 'SUBTREE',
}

/** Where a forked conversation came from; kept in its settings jsonb. */
export interface ForkOrigin {
  conversationId: string;
  messageId: string;
  mode: ForkMode;
}

export interface ForkNode {
  id: string;
  parentId: string | null;
  depth: number;
}

export interface ForkCopy {
  oldId: string;
  newId: string;
  newParentId: string | null;
  newDepth: number;
}

export interface ForkPlan {
  copies: ForkCopy[];
  /** New id of the copy that becomes the fork's active leaf. */
  activeLeafId: string;
}

/**
 * Maps the selected nodes to fresh ids. Siblings are ordered by id, so new ids
 * are handed out in the order of the old ones: the fork shows its branches in
 * the same order as the source. A node whose parent was not copied becomes a
 * root (the message itself, in SUBTREE mode).
 */
export function planFork(
  nodes: readonly ForkNode[],
  opts: { messageId: string; mode: ForkMode; sourceActiveLeafId: string | null; newId: () => string },
): ForkPlan {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const message = byId.get(opts.messageId);
  if (!message) throw new Error(`fork: message ${opts.messageId} is not among the selected nodes`);
  const oldIds = [...byId.keys()].sort();
  const newIds = oldIds.map(() => opts.newId()).sort();
  const mapping = new Map(oldIds.map((id, i) => [id, newIds[i]]));
  const shift = opts.mode === ForkMode.SUBTREE ? message.depth : 0;
  const copies = oldIds.map((oldId) => {
    const node = byId.get(oldId)!;
    return {
      oldId,
      newId: mapping.get(oldId)!,
      newParentId: node.parentId === null ? null : (mapping.get(node.parentId) ?? null),
      newDepth: node.depth - shift,
    };
  });
  const leaf = opts.sourceActiveLeafId;
  const keepLeaf = leaf !== null && opts.mode !== ForkMode.PATH && isAtOrBelow(byId, leaf, message.id);
  return { copies, activeLeafId: mapping.get(keepLeaf ? leaf : message.id)! };
}

/**
 * Whether `id` is `ancestorId` or one of its descendants, following parent
 * links inside the selected nodes only. The source's active leaf is kept only
 * when it lies below the forked message: a leaf above it would hide the very
 * message the fork was made from.
 */
export function isAtOrBelow(byId: ReadonlyMap<string, ForkNode>, id: string, ancestorId: string): boolean {
  let current = byId.get(id);
  while (current) {
    if (current.id === ancestorId) return true;
    current = current.parentId === null ? undefined : byId.get(current.parentId);
  }
  return false;
}

/** The forked conversation's default title, within the title limit. */
export function forkTitle(sourceTitle: string, max: number): string {
  const suffix = ' (fork)';
  return sourceTitle.length + suffix.length <= max ? `${sourceTitle}${suffix}` : `${sourceTitle.slice(0, max - suffix.length)}${suffix}`;
}
