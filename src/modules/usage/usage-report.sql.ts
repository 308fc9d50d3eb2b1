import type { EntityManager } from '@mikro-orm/postgresql';
import type { UsageColumns } from './usage.types';
import { usageSums } from './usage.sql';
import { LatencyGroupBy, UsageGroupBy } from './usage-report.inputs';

/** What a report covers: [from, to), one owner's data or (ownerId undefined) everyone's. */
export interface ReportScope {
  from: Date;
  to: Date;
  ownerId?: string;
}

export interface UsageReportRow extends UsageColumns {
  key: string | null;
  label: string | null;
  from: Date | null;
  is_total: boolean;
  messageCount: number;
  runCount: number;
}

/** The bucket key of a message (`m`) and of a run (`r`) for each grouping. */
const KEYS = {
  [UsageGroupBy.DAY]: { message: `date_trunc('day', m.created_at at time zone 'UTC')`, run: `date_trunc('day', r.created_at at time zone 'UTC')` },
  [UsageGroupBy.MODEL]: { message: 'm.model', run: 'r.model' },
  [UsageGroupBy.AGENT]: { message: 'm.agent_id', run: 'r.agent_id' },
  [UsageGroupBy.CONVERSATION]: { message: 'm.conversation_id', run: 'r.conversation_id' },
} satisfies Record<UsageGroupBy, { message: string; run: string }>;

/** Label of a non-DAY bucket (`g.key` typed as the grouping column) and the join it needs. */
const LABELS = {
  [UsageGroupBy.DAY]: { label: 'null::text', join: '' },
  [UsageGroupBy.MODEL]: { label: 'null::text', join: '' },
  [UsageGroupBy.AGENT]: { label: 'a.name', join: 'left join agents a on a.id = g.key' },
  [UsageGroupBy.CONVERSATION]: { label: 'lc.title', join: 'left join conversations lc on lc.id = g.key' },
} satisfies Record<UsageGroupBy, { label: string; join: string }>;

const SUM_COLUMNS = ['promptTokens', 'completionTokens', 'reasoningTokens', 'cachedTokens', 'costUsd', 'messageCount', 'runCount'];

const exec = <T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> =>
  em.getConnection().execute<T[]>(sql, params, 'all', em.getTransactionContext());

/**
 * A usage report in one statement. The ledger is every message (its usage,
 * counted once) and every run (counted, no usage: run usage is already on the
 * messages it wrote) created in the range; `rollup` adds the totals row,
 * marked by grouping(). DAY joins a generate_series of UTC days so empty days
 * appear with zeros.
 */
export async function usageReportRows(em: EntityManager, groupBy: UsageGroupBy, scope: ReportScope): Promise<UsageReportRow[]> {
  const k = KEYS[groupBy];
  const own = scope.ownerId !== undefined;
  const params: unknown[] = [scope.from, scope.to, ...(own ? [scope.ownerId] : []), scope.from, scope.to, ...(own ? [scope.ownerId] : [])];
  const ledger = `with ledger as (
      select ${k.message} as key, m.prompt_tokens, m.completion_tokens, m.reasoning_tokens, m.cached_tokens, m.cost_usd,
             1 as is_message, 0 as is_run
        from messages m ${own ? 'join conversations c on c.id = m.conversation_id' : ''}
       where m.created_at >= ? and m.created_at < ? ${own ? 'and c.owner_id = ?' : ''}
      union all
      select ${k.run}, 0, 0, 0, 0, 0::float8, 0, 1
        from runs r
       where r.created_at >= ? and r.created_at < ? ${own ? 'and r.owner_id = ?' : ''}
    ),
    grouped as (
      select key, grouping(key) = 1 as is_total, ${usageSums('ledger')},
             coalesce(sum(is_message), 0)::int as "messageCount", coalesce(sum(is_run), 0)::int as "runCount"
        from ledger group by rollup (key)
    )`;
  const totals = `select null::text as key, null::text as label, null::timestamptz as "from", true as is_total,
      ${SUM_COLUMNS.map((c) => `g."${c}"`).join(', ')} from grouped g where g.is_total`;
  if (groupBy === UsageGroupBy.DAY) {
    params.push(scope.from, scope.to);
    return exec(
      em,
      `${ledger}
       select to_char(d.day, 'YYYY-MM-DD') as key, null::text as label, (d.day at time zone 'UTC') as "from", false as is_total,
              ${SUM_COLUMNS.map((c) => `coalesce(g."${c}", 0) as "${c}"`).join(', ')}
         from generate_series(date_trunc('day', (?::timestamptz) at time zone 'UTC'),
                              ((?::timestamptz) at time zone 'UTC') - interval '1 microsecond',
                              interval '1 day') as d(day)
         left join grouped g on g.key = d.day and not g.is_total
       union all
       ${totals}
       order by is_total, key`,
      params,
    );
  }
  const l = LABELS[groupBy];
  return exec(
    em,
    `${ledger}
     select * from (
       select g.key::text as key, ${l.label} as label, null::timestamptz as "from", false as is_total,
              ${SUM_COLUMNS.map((c) => `g."${c}"`).join(', ')}
         from grouped g ${l.join}
        where not g.is_total
       union all
       ${totals}
     ) as report
     order by is_total, "costUsd" desc, "promptTokens" + "completionTokens" desc, key nulls last`,
    params,
  );
}

export interface LatencyRow {
  key: string | null;
  label: string | null;
  runCount: number;
  ttft: number[] | null;
  duration: number[] | null;
}

const LATENCY_KEYS = {
  [LatencyGroupBy.MODEL]: { key: 'r.model', label: 'null::text', join: '', group: 'r.model' },
  [LatencyGroupBy.AGENT]: { key: 'r.agent_id', label: 'a.name', join: 'left join agents a on a.id = r.agent_id', group: 'r.agent_id, a.name' },
} satisfies Record<LatencyGroupBy, { key: string; label: string; join: string; group: string }>;

/**
 * p50/p95/p99 of time to first token and of duration over completed runs,
 * with percentile_cont (interpolated, nulls ignored), one statement.
 */
export function latencyRows(em: EntityManager, groupBy: LatencyGroupBy, scope: ReportScope): Promise<LatencyRow[]> {
  const g = LATENCY_KEYS[groupBy];
  const own = scope.ownerId !== undefined;
  return exec(
    em,
    `select ${g.key}::text as key, ${g.label} as label, count(*)::int as "runCount",
            percentile_cont(array[0.5, 0.95, 0.99]) within group (order by r.time_to_first_token_ms) as ttft,
            percentile_cont(array[0.5, 0.95, 0.99])
              within group (order by (extract(epoch from (r.completed_at - r.started_at)) * 1000)::float8) as duration
       from runs r ${g.join}
      where r.status = 'COMPLETED' and r.created_at >= ? and r.created_at < ? ${own ? 'and r.owner_id = ?' : ''}
      group by ${g.group}
      order by "runCount" desc, key nulls last`,
    [scope.from, scope.to, ...(own ? [scope.ownerId] : [])],
  );
}

export interface ToolRow {
  toolName: string;
  calls: number;
  errors: number;
  successRate: number;
  avgDurationMs: number | null;
}

/**
 * Tool-call steps started in the range. A run cannot have steps before it was
 * created, so `r.created_at < to` lets the owner/created_at index narrow runs.
 */
export function toolRows(em: EntityManager, scope: ReportScope): Promise<ToolRow[]> {
  const own = scope.ownerId !== undefined;
  return exec(
    em,
    `select s.tool_name as "toolName", count(*)::int as calls,
            (count(*) filter (where s.status = 'FAILED'))::int as errors,
            (count(*) filter (where s.status <> 'FAILED'))::float8 / count(*) as "successRate",
            avg(extract(epoch from (s.completed_at - s.started_at)) * 1000)::float8 as "avgDurationMs"
       from run_steps s join runs r on r.id = s.run_id
      where s.type = 'TOOL_CALL' and s.started_at >= ? and s.started_at < ? and r.created_at < ? ${own ? 'and r.owner_id = ?' : ''}
      group by s.tool_name
      order by calls desc, "toolName"`,
    [scope.from, scope.to, scope.to, ...(own ? [scope.ownerId] : [])],
  );
}
