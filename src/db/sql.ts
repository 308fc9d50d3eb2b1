/**
 * Knex expands a JavaScript array bound to `?` into a list, so uuid arrays are
 * bound as one Postgres array literal instead: `= any(?::uuid[])`.
 * Ids are validated UUIDs before they get here, so no element needs quoting.
 */
export const pgUuidArray = (ids: readonly string[]): string => `{${ids.join(',')}}`;
