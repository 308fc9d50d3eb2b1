import type { EntityManager } from '@mikro-orm/postgresql';
import { Message, type MessageRole } from '../messages/message.entity';
import type { UsageColumns } from '../usage/usage.types';
import type { BranchPosition } from './tree-cursor';

/** Raw SQL inside the caller's transaction (or on its own when there is none). */
async function execute<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  return (await em.getConnection().execute<Record<string, unknown>[]>(sql, params, 'all', em.getTransactionContext())) as T[];
}

export interface BranchRow {
  leaf: Message;
  /** The leaf's updated_at as Postgres text (microseconds kept, for the cursor). */
  activity: string;
  usage: UsageColumns;
}

/**
 * The branches statement: `down` walks the tree from its roots through the
 * parent_id index, carrying each node's running usage total (its path's sum so
 * far), so every leaf arrives with the usage of its whole path after one pass
 * over the conversation. Leaves are the nodes no message names as parent.
 */
const BRANCHES_SQL = (keyset: boolean): string => `
  with recursive down as (
    select m.id, m.prompt_tokens::bigint as pt, m.completion_tokens::bigint as ct, m.reasoning_tokens::bigint as rt,
           m.cached_tokens::bigint as kt, m.cost_usd as cost
      from messages m where m.conversation_id = ? and m.parent_id is null
    union all
    select c.id, d.pt + c.prompt_tokens, d.ct + c.completion_tokens, d.rt + c.reasoning_tokens,
           d.kt + c.cached_tokens, d.cost + c.cost_usd
      from down d join messages c on c.parent_id = d.id
  )
  select m.*, m.updated_at::text as branch_activity,
         d.pt::int as "branch_promptTokens", d.ct::int as "branch_completionTokens", d.rt::int as "branch_reasoningTokens",
         d.kt::int as "branch_cachedTokens", d.cost::float8 as "branch_costUsd"
    from down d join messages m on m.id = d.id
   where not exists (select 1 from messages k where k.parent_id = d.id)
     ${keyset ? 'and (m.updated_at, m.id) < (?::timestamptz, ?::uuid)' : ''}
   order by m.updated_at desc, m.id desc
   limit ?`;

/** One page of leaves, most recently active first, each with the usage of its path; one statement. */
export async function selectBranches(
  em: EntityManager,
  conversationId: string,
  limit: number,
  after?: BranchPosition,
): Promise<BranchRow[]> {
  const params = after ? [conversationId, after.activity, after.leafId, limit] : [conversationId, limit];
  const rows = await execute<Record<string, unknown>>(em, BRANCHES_SQL(Boolean(after)), params);
  return rows.map((row) => {
    const {
      branch_activity: activity,
      branch_promptTokens: promptTokens,
      branch_completionTokens: completionTokens,
      branch_reasoningTokens: reasoningTokens,
      branch_cachedTokens: cachedTokens,
      branch_costUsd: costUsd,
      ...columns
    } = row;
    return {
      leaf: em.map(Message, columns),
      activity: String(activity),
      usage: {
        promptTokens: Number(promptTokens),
        completionTokens: Number(completionTokens),
        reasoningTokens: Number(reasoningTokens),
        cachedTokens: Number(cachedTokens),
        costUsd: Number(costUsd),
      },
    };
  });
}

export interface TreeNodeRow {
  id: string;
  parentId: string | null;
  role: MessageRole;
  depth: number;
  siblingIndex: number;
  childCount: number;
  preview: string;
  createdAt: Date;
}

export const PREVIEW_LENGTH = 200;

/**
 * The tree statement, in depth-first pre-order (a node, then each child's
 * subtree, children oldest first). `walk` goes down from the roots; its
 * recursive term sees all children of one level at once, so a window over
 * them gives each child its sibling position. The sort key is the parent's,
 * extended by the 4-byte position only where the parent has several children,
 * and ties within one key are a chain ordered by depth: so (key, depth) is
 * pre-order, compared bytewise, and keys stay as short as the number of forks
 * above a node. `cur` is the position after which the page starts (the cursor
 * node's, or one before everything); no `cur` row means the cursor node is
 * gone, and a `cur` row with no node after it is the end of the list.
 */
const TREE_SQL = (afterNode: boolean): string => `
  with recursive walk as (
    select m.id, m.parent_id, m.depth,
           (row_number() over (order by m.id))::int - 1 as sibling_index,
           int4send((row_number() over (order by m.id))::int) as sort_key
      from messages m where m.conversation_id = ? and m.parent_id is null
    union all
    select c.id, c.parent_id, c.depth,
           (row_number() over sib)::int - 1,
           case when count(*) over sib > 1 then w.sort_key || int4send((row_number() over sib)::int) else w.sort_key end
      from walk w join messages c on c.parent_id = w.id
    window sib as (partition by c.parent_id order by c.id rows between unbounded preceding and unbounded following)
  ),
  cur as (${afterNode ? 'select sort_key, depth from walk where id = ?' : `select ''::bytea as sort_key, -1 as depth`})
  select page.id, page.parent_id as "parentId", page.depth, page.sibling_index as "siblingIndex",
         m.role, left(m.content, ${PREVIEW_LENGTH}) as preview, m.created_at as "createdAt",
         (select count(*) from messages k where k.parent_id = page.id)::int as "childCount"
    from cur
    left join lateral (
      select w.* from walk w where (w.sort_key, w.depth) > (cur.sort_key, cur.depth) order by w.sort_key, w.depth limit ?
    ) page on true
    left join messages m on m.id = page.id
   order by page.sort_key, page.depth`;

/**
 * One page of the tree, or undefined when the cursor node is no longer in the
 * conversation. One statement; it walks the whole tree, so its cost grows with
 * the conversation, not with the page.
 */
export async function selectTreePage(
  em: EntityManager,
  conversationId: string,
  limit: number,
  afterNodeId?: string,
): Promise<TreeNodeRow[] | undefined> {
  const params = afterNodeId ? [conversationId, afterNodeId, limit] : [conversationId, limit];
  const rows = await execute<TreeNodeRow & { id: string | null }>(em, TREE_SQL(Boolean(afterNodeId)), params);
  if (rows.length === 0) return undefined;
  return rows
    .filter((r) => r.id !== null)
    .map((r) => ({ ...r, createdAt: new Date(r.createdAt) }));
}

/**
 * Points the conversation at a message of its own, in one conditional UPDATE;
 * no row back means the message is not in this conversation. Navigation is not
 * an edit: updated_at and the version stay as they were.
 */
export async function updateActiveLeaf(
  em: EntityManager,
  conversationId: string,
  messageId: string,
): Promise<Record<string, unknown> | undefined> {
  const rows = await execute<Record<string, unknown>>(
    em,
    `update conversations set active_leaf_id = ?
      where id = ? and exists (select 1 from messages m where m.id = ? and m.conversation_id = ?)
      returning *`,
    [messageId, conversationId, messageId, conversationId],
  );
  return rows[0];
}
