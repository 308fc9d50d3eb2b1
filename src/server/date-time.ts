import { GraphQLScalarType, type ValueNode } from 'graphql';
import { GraphQLDateTimeISO } from 'graphql-scalars';

/** Dates every part of Parley can store and compute with: Postgres has no year 0, JS no year past 275760. */
const MIN_MS = new Date('0001-01-01T00:00:00.000Z').getTime();
const MAX_MS = new Date('9999-12-31T23:59:59.999Z').getTime();

function inRange(date: Date): Date {
  const t = date.getTime();
  if (!(t >= MIN_MS && t <= MAX_MS)) throw new TypeError('DateTimeISO must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z');
  return date;
}

const base = GraphQLDateTimeISO.toConfig();

/**
 * The DateTimeISO scalar (same name, description and serialization as
 * graphql-scalars' one, which type-graphql uses for `Date`), refusing dates
 * outside years 1–9999 when they are parsed: every date argument is checked
 * here once, as a coercion error (BAD_USER_INPUT), before any resolver or
 * query sees a date Postgres cannot store.
 */
export const BoundedDateTimeISO = new GraphQLScalarType<Date, string>({
  ...base,
  parseValue: (value: unknown) => inRange(base.parseValue!(value) as Date),
  parseLiteral: (ast: ValueNode, variables) => inRange(base.parseLiteral!(ast, variables) as Date),
});
