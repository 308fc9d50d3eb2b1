import type { Viewer } from './context';
import { UserRole } from '../modules/users/user.entity';

/**
 * The where-clause fragment that scopes a query to what the viewer may see.
 * Ownership lives in the query, so another user's row is simply not found.
 */
export function ownedBy(viewer: Viewer): { owner?: string } {
  return viewer.role === UserRole.ADMIN ? {} : { owner: viewer.id };
}

export const isAdmin = (viewer: Viewer): boolean => viewer.role === UserRole.ADMIN;
