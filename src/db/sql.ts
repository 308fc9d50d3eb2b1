import { JsonType, ReferenceKind, UniqueConstraintViolationException, type EntityClass, type RequiredEntityData } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Knex expands a JavaScript array bound to `?` into a list, so uuid arrays are
 * bound as one Postgres array literal instead: `= any(?::uuid[])`.
 * Ids are validated UUIDs before they get here, so no element needs quoting.
 */
export const pgUuidArray = (ids: readonly string[]): string => `{${ids.join(',')}}`;

/**
 * The columns and values an INSERT of this new entity writes, read off the
 * ORM's metadata: the entity's own defaults (id, timestamps, counters) come
 * from its class, references become their ids, JSON is serialized. For hot
 * paths that write one row in a hand-written statement instead of a flush.
 */
export function insertColumns<T extends object>(em: EntityManager, entityName: EntityClass<T>, entity: T): { columns: string[]; values: unknown[] } {
  const meta = em.getMetadata().get<T>(entityName.name);
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const prop of meta.props) {
    if (prop.persist === false || !prop.fieldNames?.length) continue;
    if (prop.kind !== ReferenceKind.SCALAR && prop.kind !== ReferenceKind.MANY_TO_ONE) continue;
    const value = (entity as Record<string, unknown>)[prop.name];
    columns.push(prop.fieldNames[0]);
    if (value == null) values.push(null);
    else if (prop.kind === ReferenceKind.MANY_TO_ONE) values.push((value as { id: unknown }).id);
    else if (prop.runtimeType === 'object' || prop.type === 'json' || prop.customType instanceof JsonType) values.push(JSON.stringify(value));
    else values.push(value);
  }
  return { columns, values };
}

/**
 * Inserts one new entity with a single INSERT, in the caller's transaction,
 * and returns it managed (as if loaded): a flush neither inserts it again nor
 * computes anything for it.
 */
export async function insertEntity<T extends object>(em: EntityManager, entityName: EntityClass<T>, data: RequiredEntityData<T>): Promise<T> {
  const entity = em.create(entityName, data, { persist: false });
  const { columns, values } = insertColumns(em, entityName, entity);
  const { tableName: table } = em.getMetadata().get<T>(entityName.name);
  await em.getConnection().execute(
    `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`,
    values,
    'run',
    em.getTransactionContext(),
  );
  return em.merge(entity);
}

/** A unique-constraint violation of `constraint`, whether the ORM converted the driver's error or not. */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  if (err instanceof UniqueConstraintViolationException) return String(err.message).includes(constraint);
  const pg = err as { code?: string; constraint?: string } | null;
  return pg?.code === '23505' && pg.constraint === constraint;
}
