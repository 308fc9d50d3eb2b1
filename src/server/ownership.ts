import type { EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from './context';
import { notFound } from './errors';
import { UserRole } from '../modules/users/user.entity';

/**
 * The where-clause fragment that scopes a query to what the viewer may see.
 * Ownership lives in the query, so another user's row is simply not found.
 */
export function ownedBy(viewer: Viewer): { owner?: string } {
  return viewer.role === UserRole.ADMIN ? {} : { owner: viewer.id };
}

export const isAdmin = (viewer: Viewer): boolean => viewer.role === UserRole.ADMIN;

/**
 * One row the viewer owns (any row for an admin), by id, in one plain
 * statement mapped by the ORM: the lookup every conversation- and run-scoped
 * request starts with. NOT_FOUND otherwise, exactly like a missing row.
 * `forUpdate` row-locks it (FOR NO KEY UPDATE) until `em`'s transaction ends.
 */
export async function loadOwned<T extends object>(
  em: EntityManager,
  entity: EntityClass<T>,
  viewer: Viewer,
  id: string,
  opts: { forUpdate?: boolean } = {},
): Promise<T> {
  const { tableName } = em.getMetadata().get<T>(entity.name);
  const [row] = await em.getConnection().execute<Record<string, unknown>[]>(
    `select * from "${tableName}" where id = ? and (owner_id = ? or ?)${opts.forUpdate ? ' for no key update' : ''}`,
    [id, viewer.id, isAdmin(viewer)],
    'all',
    em.getTransactionContext(),
  );
  if (!row) throw notFound(entity.name, id);
  return em.map(entity, row as never);
}
