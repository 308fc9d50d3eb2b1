import { MESSAGE_MATCHES, MESSAGE_RANK } from '../tools/message-search';

/** A checked conversation-list query; every field is already validated. */
export interface ListQuery {
  ownerId: string;
  archived: boolean;
  tag?: string;
  /** Trimmed, non-empty search text. */
  search?: string;
  model?: string;
  agentId?: string;
  updatedFrom?: Date;
  updatedTo?: Date;
  /** Only set when > 0 (every conversation costs ≥ 0). */
  minCost?: number;
  /** Page size; one more row is fetched. */
  limit: number;
  /** Keyset position: rank only when searching. */
  after?: { rank?: number; updatedAt: string; id: string };
}

const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * One statement for a page of conversations. Without search: most recently
 * updated first, keyset on (updated_at, id) over the (owner_id, updated_at, id)
 * index. With search: conversations whose title contains the text (ILIKE) or
 * that have a message matching it (the shared FTS match), ranked by their best
 * message rank plus the title's rank, keyset on (rank, updated_at, id).
 * Extra columns: `list_updated_at` (microseconds kept, for the cursor) and
 * `list_rank`.
 */
export function conversationListSql(q: ListQuery): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where: string[] = [];
  const bind = (clause: string, ...values: unknown[]) => {
    where.push(clause);
    params.push(...values);
  };
  let head = '';
  let from = 'conversations c';
  let rank = 'null::real';
  if (q.search) {
    head = `with hits as (
      select m.conversation_id, max(${MESSAGE_RANK}) as rank ${MESSAGE_MATCHES}
      group by m.conversation_id
    )`;
    params.push(q.search, q.ownerId);
    from = `conversations c cross join websearch_to_tsquery('english', ?) as sq(query) left join hits h on h.conversation_id = c.id`;
    params.push(q.search);
    rank = `(coalesce(h.rank, 0) + ts_rank(to_tsvector('english', c.title), sq.query))::real`;
  }
  bind('c.owner_id = ?', q.ownerId);
  where.push(q.archived ? 'c.archived_at is not null' : 'c.archived_at is null');
  if (q.search) bind(`(h.conversation_id is not null or c.title ilike ?)`, `%${escapeLike(q.search)}%`);
  if (q.tag) bind('c.tags @> array[?]::text[]', q.tag);
  if (q.model) {
    bind(
      `(exists (select 1 from messages fm where fm.conversation_id = c.id and fm.model = ?)
        or exists (select 1 from runs fr where fr.conversation_id = c.id and fr.model = ?))`,
      q.model,
      q.model,
    );
  }
  if (q.agentId) {
    bind(`(c.agent_id = ? or exists (select 1 from runs fa where fa.conversation_id = c.id and fa.agent_id = ?))`, q.agentId, q.agentId);
  }
  if (q.updatedFrom) bind('c.updated_at >= ?', q.updatedFrom);
  if (q.updatedTo) bind('c.updated_at < ?', q.updatedTo);
  if (q.minCost !== undefined) {
    bind(
      `c.id in (select mc.conversation_id from messages mc join conversations oc on oc.id = mc.conversation_id
                 where oc.owner_id = ? group by mc.conversation_id having sum(mc.cost_usd) >= ?)`,
      q.ownerId,
      q.minCost,
    );
  }
  const order = q.search ? 'list_rank desc, updated_at desc, id desc' : 'updated_at desc, id desc';
  let keyset = '';
  if (q.after) {
    if (q.search) {
      keyset = 'where (list_rank, updated_at, id) < (?::real, ?::timestamptz, ?::uuid)';
      params.push(q.after.rank ?? 0, q.after.updatedAt, q.after.id);
    } else {
      keyset = 'where (updated_at, id) < (?::timestamptz, ?::uuid)';
      params.push(q.after.updatedAt, q.after.id);
    }
  }
  params.push(q.limit + 1); // the extra row only tells whether a next page exists
  const sql = `${head}
    select * from (
      select c.*, c.updated_at::text as list_updated_at, ${rank} as list_rank
        from ${from}
       where ${where.join('\n         and ')}
    ) as listed
    ${keyset}
    order by ${order}
    limit ?`;
  return { sql, params };
}
