import { createHash } from 'node:crypto';
import { JsonType, ReferenceKind, UniqueConstraintViolationException, type EntityClass, type RequiredEntityData } from '@mikro-orm/core';
import type { EntityManager, Knex } from '@mikro-orm/postgresql';

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

/** A hot read statement: `name` lets Postgres parse and plan it once per connection; `text` uses $1, $2… */
export interface PreparedStatement {
  name: string;
  text: string;
}

interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  query(text: string): Promise<{ rows: unknown[] } | { rows: unknown[] }[]>;
}

/** The ORM's timing and logging wrapper (protected only in the typings), so query counting and debug logging see every statement. */
function logged<R>(em: EntityManager, text: string, params: unknown[], run: () => Promise<R>): Promise<R> {
  const connection = em.getConnection() as unknown as { executeQuery(query: string, cb: () => Promise<R>, context?: object): Promise<R> };
  return connection.executeQuery(text, run, { query: text, params });
}

/** A pooled connection of the ORM's pool (or the caller's transaction's) for `fn`. */
async function withClient<R>(em: EntityManager, fn: (pg: PgClient) => Promise<R>): Promise<R> {
  const client = (em.getTransactionContext<Knex.Transaction>() ?? em.getConnection().getKnex()).client as Knex.Client;
  const pg = (await client.acquireConnection()) as PgClient;
  try {
    return await fn(pg);
  } finally {
    await client.releaseConnection(pg);
  }
}

/**
 * Runs a named, parameterised statement on a pooled connection (or the
 * caller's transaction's) and returns its rows as node-postgres parsed them
 * under MikroORM's type parsers (timestamps stay text). The ORM's `execute`
 * inlines every value into the text, so Postgres would plan each call anew.
 * The statement still goes through the ORM's query log, so query counting and
 * debug logging see it.
 */
export async function preparedRows<T>(em: EntityManager, statement: PreparedStatement, values: unknown[]): Promise<T[]> {
  return logged(em, statement.text, values, () =>
    withClient(em, async (pg) => (await pg.query({ name: statement.name, text: statement.text, values })).rows as T[]),
  );
}

/** One statement of a script: SQL with knex's `?` placeholders and its values. */
export interface ScriptStatement {
  sql: string;
  params: unknown[];
  /**
   * Prepare it (SQL PREPARE, named by this prefix and its text) once per
   * connection and run it with EXECUTE, so that Postgres plans it once, not
   * at every call. The text must hold no `?` but its placeholders.
   */
  prepare?: string;
}

/** The statements each pooled connection has prepared with SQL PREPARE (they outlive a rolled-back script). */
const scriptPrepared = new WeakMap<object, Set<string>>();

/**
 * Sends several statements as one simple query: one round trip and one
 * implicit transaction (all or nothing: a statement that fails rolls back
 * those before it). Under READ COMMITTED each statement takes its own
 * snapshot, so one that follows a locking statement sees what committed
 * while that one waited for its lock — which a single statement (one
 * snapshot) cannot. Values are inlined as the ORM's `execute` inlines them,
 * into the statement or into the EXECUTE of its prepared form.
 * Returns the rows of the last statement. Outside any transaction: the
 * script is one.
 */
export async function runScript<T>(em: EntityManager, statements: readonly ScriptStatement[]): Promise<T[]> {
  if (em.getTransactionContext()) throw new Error('runScript is its own transaction');
  const platform = em.getPlatform();
  // Logged as the statements read, whether they go as EXECUTE of a prepared one or not.
  return logged(em, statements.map((st) => platform.formatQuery(st.sql, st.params)).join(';\n'), [], () =>
    withClient(em, async (pg) => {
      const known = scriptPrepared.get(pg) ?? new Set<string>();
      scriptPrepared.set(pg, known);
      const preparing: string[] = [];
      const parts = statements.map((st) => {
        if (!st.prepare) return platform.formatQuery(st.sql, st.params);
        const { name, text: body } = prepared(st.prepare, st.sql);
        if (!known.has(name)) preparing.push(`prepare ${name} as ${body}`);
        return platform.formatQuery(`execute ${name}${st.params.length ? `(${st.params.map(() => '?').join(', ')})` : ''}`, st.params);
      });
      const names = preparing.map((p) => p.split(' ', 3)[1]);
      try {
        const results = await pg.query([...preparing, ...parts].join(';\n'));
        for (const name of names) known.add(name);
        return (Array.isArray(results) ? results[results.length - 1] : results).rows as T[];
      } catch (err) {
        // A PREPARE that ran stays, though a later statement failed and rolled the script back.
        for (const name of names) {
          const exists = pg.query({ name: 'parley_prepared_exists', text: 'select 1 from pg_prepared_statements where name = $1', values: [name] });
          if ((await exists.catch(() => ({ rows: [] }))).rows.length) known.add(name);
        }
        throw err;
      }
    }),
  );
}

/**
 * A statement written with knex's `?` placeholders as a prepared one: `$1…$n`
 * in order, named after its text, so each distinct shape (a list with or
 * without a filter, say) is planned once per connection. The text must hold
 * no other `?` (no jsonb `?` operators).
 */
export function prepared(prefix: string, sql: string): PreparedStatement {
  let n = 0;
  const text = sql.replace(/\?/g, () => `$${++n}`);
  return { name: `${prefix}_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text };
}
