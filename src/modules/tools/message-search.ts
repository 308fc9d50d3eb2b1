import type { EntityManager } from '@mikro-orm/postgresql';
import type { MessageSearchHit } from './tool.types';

/** Longest search text accepted from API clients (the tool's schema says the same). */
export const MAX_SEARCH_TEXT = 500;

/** Upper bound on hits for tools whatever the model asks for; each hit costs a ts_headline. */
export const MAX_SEARCH_LIMIT = 50;

/** Matches are wrapped in `**` (Markdown bold), which models read better than `<b>`. */
const MARKDOWN_HEADLINE = 'StartSel=**, StopSel=**, MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "';
/** For HTML clients: content is escaped first (ts_headline keeps entities whole), matches wrapped in <b>. */
const HTML_HEADLINE = 'StartSel=<b>, StopSel=</b>, MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "';

/*
 * The one full-text match over messages, shared by every search (the tool, the
 * searchMessages query, conversations(filter: { search })). Binds: query text,
 * owner id. Exposes `q.query`, `m` (message) and `c` (conversation).
 * The expression must stay `to_tsvector('english', m.content)` verbatim to use
 * the GIN index messages_content_fts_index. Only USER and ASSISTANT messages
 * are searched: TOOL messages would echo earlier search results back, and
 * SYSTEM prompts repeat in every conversation; `m.role` is compared as the
 * enum, not cast to text, so the planner keeps its statistics and joins the
 * owner's conversations before ranking (3.6× faster at 500k messages).
 * Ownership is enforced here, in the query (`c.owner_id = viewer`). websearch
 * syntax (quotes, OR, -word) never raises a syntax error on user input.
 */
export const MESSAGE_MATCHES = `
  from websearch_to_tsquery('english', ?) as q(query)
  join messages m on to_tsvector('english', m.content) @@ q.query
  join conversations c on c.id = m.conversation_id
  where c.owner_id = ? and m.role in ('USER', 'ASSISTANT')`;

/** ts_rank of a matched message; `real`, so it round-trips exactly through a cursor. */
export const MESSAGE_RANK = `ts_rank(to_tsvector('english', m.content), q.query)`;

/** Keyset position in a ranked hit list: (rank, created_at, id), all descending. */
export interface HitPosition {
  rank: number;
  /** created_at as Postgres text, microseconds kept. */
  createdAt: string;
  id: string;
}

export interface MessageHitRow {
  message_id: string;
  conversation_id: string;
  conversation_title: string;
  role: string;
  rank: number;
  created_at: Date | string;
  created_at_text: string;
  snippet: string;
}

/*
 * The inner query ranks, pages and limits; ts_headline (which re-parses the
 * whole message) runs only on the rows that survive the limit.
 */
const hitsSql = (html: boolean, after: boolean) => `
select hit.message_id, hit.conversation_id, hit.conversation_title, hit.role, hit.rank, hit.created_at, hit.created_at_text,
       ts_headline('english', ${html ? `replace(replace(replace(hit.content, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')` : 'hit.content'},
                   hit.query, ?) as snippet
from (
  select * from (
    select m.id as message_id, m.conversation_id, c.title as conversation_title, m.role::text as role,
           m.content, m.created_at, m.created_at::text as created_at_text, q.query, ${MESSAGE_RANK} as rank
    ${MESSAGE_MATCHES}
  ) as ranked
  ${after ? 'where (ranked.rank, ranked.created_at, ranked.message_id) < (?::real, ?::timestamptz, ?::uuid)' : ''}
  order by ranked.rank desc, ranked.created_at desc, ranked.message_id desc
  limit ?
) as hit
order by hit.rank desc, hit.created_at desc, hit.message_id desc`;

/**
 * Ranked full-text hits in the viewer's own messages, best first, after a
 * keyset position. `highlight` picks the snippet marks: Markdown for models,
 * HTML (content escaped) for API clients. Blank queries find nothing.
 */
export async function findMessageHits(
  em: EntityManager,
  viewerId: string,
  query: string,
  opts: { limit: number; after?: HitPosition; highlight: 'markdown' | 'html' },
): Promise<MessageHitRow[]> {
  const text = query.trim();
  if (text === '') return [];
  const html = opts.highlight === 'html';
  const params: unknown[] = [html ? HTML_HEADLINE : MARKDOWN_HEADLINE, text, viewerId];
  if (opts.after) params.push(opts.after.rank, opts.after.createdAt, opts.after.id);
  params.push(opts.limit);
  const rows = await em
    .getConnection()
    .execute<MessageHitRow[]>(hitsSql(html, Boolean(opts.after)), params, 'all', em.getTransactionContext());
  return rows.map((r) => ({ ...r, rank: Number(r.rank) }));
}

/**
 * Full-text search over the viewer's own messages, best match first. The engine
 * binds this to the run's entity manager and hands it to tools as
 * `ctx.searchMessages`.
 */
export async function searchMessages(
  em: EntityManager,
  viewerId: string,
  query: string,
  limit: number,
): Promise<MessageSearchHit[]> {
  const bounded = Math.min(Math.max(1, Math.floor(limit) || 1), MAX_SEARCH_LIMIT);
  const rows = await findMessageHits(em, viewerId, query, { limit: bounded, highlight: 'markdown' });
  return rows.map((r) => ({
    conversationId: r.conversation_id,
    conversationTitle: r.conversation_title,
    messageId: r.message_id,
    role: r.role,
    snippet: r.snippet,
    rank: r.rank,
    createdAt: new Date(r.created_at).toISOString(),
  }));
}
