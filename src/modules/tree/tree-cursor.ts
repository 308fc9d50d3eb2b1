import { decodeCursor, encodeCursor } from '../../server/relay';

/**
 * Cursors of the two tree lists. Branches are keyed by position values (last
 * activity as Postgres text, leaf id), so a branch that moves does not break
 * the page after it; tree nodes are keyed by the id of the last node, whose
 * pre-order position is recomputed on the next page (positions shift when a
 * message gains a second child).
 */

export interface BranchPosition {
  /** The leaf's updated_at as Postgres text: microseconds kept. */
  activity: string;
  leafId: string;
}

export const branchCursor = (p: BranchPosition): string => encodeCursor('branches', [p.activity, p.leafId]);

export function decodeBranchCursor(after: string | null | undefined): BranchPosition | undefined {
  const c = decodeCursor('branches', after, ['timestamp', 'uuid']);
  return c && { activity: c[0], leafId: c[1] };
}

export const treeCursor = (nodeId: string): string => encodeCursor('tree', nodeId);

export function decodeTreeCursor(after: string | null | undefined): string | undefined {
  return decodeCursor('tree', after, 'uuid');
}
