import type { EntityManager } from '@mikro-orm/postgresql';
import type { MessageSearchHit } from './tool.types';

/** Upper bound on hits whatever the caller asks for; each hit costs a ts_headline. */
export const MAX_SEARCH_LIMIT = 50;

/** Matches are wrapped in `**` (Markdown bold), which models read better than `<b>`. */
const HEADLINE_OPTIONS = 'StartSel=**, StopSel=**, MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "';

/*
 * The inner query ranks and limits; ts_headline (which re-parses the whole
 * message) runs only on the rows that survive the limit. The `where` expression
 * must stay `to_tsvector('english', m.content)` verbatim to use the GIN index.
 * Only USER and ASSISTANT messages are searched: TOOL messages would echo
 * earlier search results back, and SYSTEM prompts repeat in every conversation.
 * Ownership is enforced here, in the query (`c.owner_id = viewer`).
 */
const SEARCH_SQL = `
select hit.message_id, hit.conversation_id, hit.conversation_title, hit.role, hit.rank, hit.created_at,
       ts_headline('english', hit.content, hit.query, ?) as snippet
from (
  select m.id as message_id, m.conversation_id, c.title as conversation_title, m.role::text as role,
         m.content, m.created_at, q.query,
         ts_rank(to_tsvector('english', m.content), q.query) as rank
  from websearch_to_tsquery('english', ?) as q(query)
  join messages m on to_tsvector('english', m.content) @@ q.query
  join conversations c on c.id = m.conversation_id
  where c.owner_id = ? and m.role::text in ('USER', 'ASSISTANT')
  order by rank desc, m.created_at desc, m.id
  limit ?
) as hit
order by hit.rank desc, hit.created_at desc, hit.message_id`;

interface SearchRow {
  message_id: string;
  conversation_id: string;
  conversation_title: string;
  role: string;
  rank: number;
  created_at: Date | string;
  snippet: string;
}

/**
 * Full-text search over the viewer's own messages, best match first. The engine
 * binds this to the run's entity manager and hands it to tools as
 * `ctx.searchMessages`. Query syntax is websearch (quotes, OR, -word), which
 * never raises a syntax error on user input.
 */
export async function searchMessages(
  em: EntityManager,
  viewerId: string,
  query: string,
  limit: number,
): Promise<MessageSearchHit[]> {
  const text = query.trim();
  if (text === '') return [];
  const bounded = Math.min(Math.max(1, Math.floor(limit) || 1), MAX_SEARCH_LIMIT);
  const rows = await em
    .getConnection()
    .execute<SearchRow[]>(SEARCH_SQL, [HEADLINE_OPTIONS, text, viewerId, bounded]);
  return rows.map((r) => ({
    conversationId: r.conversation_id,
    conversationTitle: r.conversation_title,
    messageId: r.message_id,
    role: r.role,
    snippet: r.snippet,
    rank: Number(r.rank),
    createdAt: new Date(r.created_at).toISOString(),
  }));
}
