import { Field, ObjectType, type ClassType } from 'type-graphql';
import { badInput } from './errors';

@ObjectType({ description: 'Relay page information.' })
export class PageInfo {
  @Field({ description: 'Whether more items follow this page.' })
  hasNextPage!: boolean;

  @Field({ description: 'Whether items precede this page.' })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Cursor of the first edge.' })
  startCursor!: string | null;

  @Field(() => String, { nullable: true, description: 'Cursor of the last edge; pass it as `after` for the next page.' })
  endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
}

/** Builds `<Name>Edge` and `<Name>Connection` object types for a node type. */
export function ConnectionType<T extends object>(name: string, node: ClassType<T>, description: string) {
  // simpleResolvers: edges are plain data, read by graphql's default resolver (no wrapper per edge of a long page).
  @ObjectType(`${name}Edge`, { simpleResolvers: true, description: `An edge in a ${name} connection.` })
  class EdgeType {
    @Field({ description: 'Opaque cursor of this edge.' })
    cursor!: string;

    @Field(() => node, { description: `The ${name}.` })
    node!: T;
  }

  @ObjectType(`${name}Connection`, { simpleResolvers: true, description })
  class ConnectionClass {
    @Field(() => [EdgeType], { description: 'The page of edges.' })
    edges!: EdgeType[];

    @Field(() => PageInfo, { description: 'Paging information.' })
    pageInfo!: PageInfo;
  }
  return ConnectionClass as ClassType<Connection<T>>;
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export function pageSize(first: number | undefined | null, field = 'first'): number {
  if (first === undefined || first === null) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput(field, `must be between 1 and ${MAX_PAGE_SIZE}`, { max: MAX_PAGE_SIZE });
  }
  return first;
}

/**
 * What one position of a cursor holds: a row id, a non-negative integer
 * (a depth), a finite number (a rank) or a timestamp (ISO 8601 or Postgres
 * timestamptz text, a real date from year 1 to 9999).
 */
export type CursorPart = 'uuid' | 'int' | 'number' | 'timestamp';
type PartValue<P> = P extends 'int' | 'number' ? number : string;
/** A cursor's decoded position: one part, or a tuple of parts. */
export type CursorValue<S> = S extends CursorPart ? PartValue<S> : { -readonly [K in keyof S]: PartValue<S[K]> };

/**
 * Cursors are opaque: base64url of a kind tag and a position. The tag lets a
 * cursor from another list be rejected clearly instead of paging nonsense.
 */
export function encodeCursor(kind: string, position: unknown): string {
  return Buffer.from(JSON.stringify([kind, position])).toString('base64url');
}

/**
 * The one check of every cursor a client sends: right kind and right shape,
 * so no list ever reaches its query with a position it cannot use (a number
 * where an id belongs, a 13th month). Anything else is BAD_USER_INPUT.
 */
export function decodeCursor<const S extends CursorPart | readonly CursorPart[]>(
  kind: string,
  cursor: string | undefined | null,
  shape: S,
  field = 'after',
): CursorValue<S> | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && parsed.length === 2 && parsed[0] === kind) {
    const position: unknown = parsed[1];
    if (typeof shape === 'string' ? isPart(shape, position) : isTuple(shape as readonly CursorPart[], position)) {
      return normalize(position) as CursorValue<S>;
    }
  }
  throw badInput(field, 'is not a cursor from this list');
}

function isTuple(shape: readonly CursorPart[], value: unknown): boolean {
  return Array.isArray(value) && value.length === shape.length && shape.every((part, i) => isPart(part, value[i]));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)$/;

function isPart(part: CursorPart, value: unknown): boolean {
  switch (part) {
    case 'uuid':
      return typeof value === 'string' && UUID.test(value);
    case 'int':
      return Number.isSafeInteger(value) && (value as number) >= 0;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'timestamp':
      return typeof value === 'string' && isTimestamp(value);
  }
}

/** A calendar date and time that exists (no February 30th, no hour 25) in the years Postgres and JS share. */
function isTimestamp(text: string): boolean {
  const m = TIMESTAMP.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  date.setUTCFullYear(y);
  const zone = /^[+-](\d{2}):?(\d{2})?$/.exec(m[8]);
  const zoneOk = !zone || (Number(zone[1]) <= 15 && Number(zone[2] ?? 0) < 60);
  return zoneOk && y >= 1 && date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

/** Ids compare lower-case in Postgres text form; everything else is kept as sent. */
function normalize(position: unknown): unknown {
  if (typeof position === 'string' && UUID.test(position)) return position.toLowerCase();
  return Array.isArray(position) ? position.map(normalize) : position;
}

/** Turns `limit + 1` fetched rows into a connection; the extra row only signals more. */
export function toConnection<T>(rows: T[], limit: number, cursorOf: (row: T) => string, hasPrevious: boolean): Connection<T> {
  const page = rows.slice(0, limit);
  const edges = page.map((node) => ({ node, cursor: cursorOf(node) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > limit,
      hasPreviousPage: hasPrevious,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
