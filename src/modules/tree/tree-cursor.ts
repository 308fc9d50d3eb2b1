import { validate as isUuid } from 'uuid';
import { badInput } from '../../server/errors';
import { decodeCursor, encodeCursor } from '../../server/relay';

/**
 * Cursors of the two tree lists. Branches are keyed by position values (last
 * activity as Postgres text, leaf id), so a branch that moves does not break
 * the page after it; tree nodes are keyed by the id of the last node, whose
 * pre-order position is recomputed on the next page (positions shift when a
 * message gains a second child).
 */

/** Postgres timestamptz text (`2026-11-22 10:00:00.123456+00`) or ISO 8601. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)$/;

export interface BranchPosition {
  /** The leaf's updated_at as Postgres text: microseconds kept. */
  activity: string;
  leafId: string;
}

export const branchCursor = (p: BranchPosition): string => encodeCursor('branches', [p.activity, p.leafId]);

export function decodeBranchCursor(after: string | null | undefined): BranchPosition | undefined {
  const c = decodeCursor<unknown>('branches', after);
  if (c === undefined) return undefined;
  if (Array.isArray(c) && c.length === 2 && TIMESTAMP.test(String(c[0])) && isUuid(String(c[1]))) {
    return { activity: String(c[0]), leafId: String(c[1]).toLowerCase() };
  }
  throw badInput('after', 'is not a cursor from this list');
}

export const treeCursor = (nodeId: string): string => encodeCursor('tree', nodeId);

export function decodeTreeCursor(after: string | null | undefined): string | undefined {
  const c = decodeCursor<unknown>('tree', after);
  if (c === undefined) return undefined;
  if (typeof c === 'string' && isUuid(c)) return c.toLowerCase();
  throw badInput('after', 'is not a cursor from this list');
}
