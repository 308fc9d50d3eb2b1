import { validate as isUuid } from 'uuid';
import { badInput } from '../../server/errors';
import { decodeCursor, encodeCursor, pageSize } from '../../server/relay';
import { LIMITS, optionalId, optionalText } from '../../server/validate';
import { MAX_SEARCH_TEXT } from '../tools/message-search';
import type { ConversationFilter } from './conversation.types';
import type { ListQuery } from './conversation-list.sql';

// A cursor is the position after a row: (updated_at as Postgres text, id), or (rank, updated_at, id) when searching.

/** ISO 8601 (cursors from before microseconds were kept) or Postgres timestamptz text. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)$/;

export interface ListArgs {
  first?: number | null;
  after?: string | null;
  filter?: ConversationFilter | null;
}

/**
 * Checks a list request and turns it into a ListQuery. The cursor kind follows
 * the ordering: a cursor from a plain list is rejected while searching, and
 * the other way round, instead of paging nonsense.
 */
export function toListQuery(ownerId: string, args: ListArgs): ListQuery {
  const f = args.filter ?? {};
  const search = optionalText(f.search, 'filter.search', MAX_SEARCH_TEXT)?.trim() || undefined;
  const query: ListQuery = {
    ownerId,
    archived: Boolean(f.archived),
    limit: pageSize(args.first),
    search,
    tag: optionalText(f.tag, 'filter.tag', LIMITS.tag)?.trim().toLowerCase() || undefined,
    model: optionalText(f.model, 'filter.model', LIMITS.model)?.trim() || undefined,
    agentId: optionalId(f.agentId, 'filter.agentId'),
    updatedFrom: f.from ?? undefined,
    updatedTo: f.to ?? undefined,
  };
  if (query.updatedFrom && query.updatedTo && query.updatedTo <= query.updatedFrom) {
    throw badInput('filter.to', 'must be after filter.from');
  }
  if (f.minCost != null) {
    if (!Number.isFinite(f.minCost) || f.minCost < 0) throw badInput('filter.minCost', 'must be a non-negative number');
    if (f.minCost > 0) query.minCost = f.minCost;
  }
  if (search) {
    const c = decodeCursor('conversationSearch', args.after, ['number', 'timestamp', 'uuid']);
    if (c) query.after = { rank: c[0], updatedAt: c[1], id: c[2] };
  } else {
    const c = decodeCursor('conversations', args.after, ['timestamp', 'uuid']);
    if (c) query.after = { updatedAt: c[0], id: c[1] };
  }
  const a = query.after;
  if (a && (!TIMESTAMP.test(String(a.updatedAt)) || !isUuid(String(a.id)) || (search !== undefined && typeof a.rank !== 'number'))) {
    throw badInput('after', 'is not a cursor from this list');
  }
  return query;
}

/** The cursor of a listed row, in the kind its ordering needs. */
export function listCursor(query: ListQuery, rank: number, updatedAt: string, id: string): string {
  return query.search ? encodeCursor('conversationSearch', [rank, updatedAt, id]) : encodeCursor('conversations', [updatedAt, id]);
}
