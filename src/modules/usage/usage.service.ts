import type { Context, Viewer } from '../../server/context';
import { forbidden, notFound } from '../../server/errors';
import { isAdmin } from '../../server/ownership';
import { optionalId } from '../../server/validate';
import { ZERO_USAGE, type UsageColumns } from './usage.types';
import { checkReportRange } from './report-range';
import { latencyRows, toolRows, usageReportRows, type ReportScope, type UsageReportRow } from './usage-report.sql';
import type { LatencyGroupBy, ReportRangeInput, UsageGroupBy } from './usage-report.inputs';

export interface UsageBucket {
  key: string | null;
  label: string | null;
  from: Date | null;
  usage: UsageColumns;
  runCount: number;
  messageCount: number;
}

export interface UsageReport {
  groupBy: UsageGroupBy;
  from: Date;
  to: Date;
  buckets: UsageBucket[];
  totals: UsageColumns;
  runCount: number;
  messageCount: number;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface LatencyReport {
  groupBy: LatencyGroupBy;
  rows: { key: string | null; label: string | null; runCount: number; ttftMs: Percentiles; durationMs: Percentiles }[];
}

const percentiles = (values: number[] | null): Percentiles => ({
  p50: values?.[0] ?? null,
  p95: values?.[1] ?? null,
  p99: values?.[2] ?? null,
});

const toBucket = (r: UsageReportRow): UsageBucket => ({
  key: r.key,
  label: r.label,
  from: r.from ? new Date(r.from) : null,
  usage: {
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    reasoningTokens: r.reasoningTokens,
    cachedTokens: r.cachedTokens,
    costUsd: r.costUsd,
  },
  runCount: r.runCount,
  messageCount: r.messageCount,
});

/** Usage rollups and reports; every number is a SQL aggregate, every report one statement. */
export class UsageService {
  /**
   * Usage of the branch ending at `leafId` (the active leaf by default) of a
   * conversation the caller already resolved for the viewer. A leaf of another
   * conversation is NOT_FOUND, like a missing one.
   */
  async branchUsage(
    ctx: Context,
    conversation: { id: string; activeLeafId: string | null },
    leafId?: string | null,
  ): Promise<UsageColumns> {
    const leaf = optionalId(leafId, 'leafId') ?? conversation.activeLeafId;
    if (!leaf) return ZERO_USAGE;
    const usage = await ctx.loaders.usageByBranch.load(leaf);
    if (!usage || usage.conversationId !== conversation.id) throw notFound('Message', leaf);
    return usage;
  }

  /** A user's usage: the viewer's own, or anyone's for an admin. */
  async userUsage(ctx: Context, viewer: Viewer, userId: string): Promise<UsageColumns> {
    if (userId !== viewer.id && !isAdmin(viewer)) throw forbidden();
    return ctx.loaders.usageByOwner.load(userId);
  }

  async report(ctx: Context, viewer: Viewer, input: ReportRangeInput & { groupBy: UsageGroupBy }): Promise<UsageReport> {
    const scope = this.scope(viewer, input);
    const rows = await usageReportRows(ctx.em, input.groupBy, scope);
    const total = rows.find((r) => r.is_total);
    const totals = total ? toBucket(total) : { usage: ZERO_USAGE, runCount: 0, messageCount: 0 };
    return {
      groupBy: input.groupBy,
      from: scope.from,
      to: scope.to,
      buckets: rows.filter((r) => !r.is_total).map(toBucket),
      totals: totals.usage,
      runCount: totals.runCount,
      messageCount: totals.messageCount,
    };
  }

  async latency(ctx: Context, viewer: Viewer, input: ReportRangeInput & { groupBy: LatencyGroupBy }): Promise<LatencyReport> {
    const rows = await latencyRows(ctx.em, input.groupBy, this.scope(viewer, input));
    return {
      groupBy: input.groupBy,
      rows: rows.map((r) => ({
        key: r.key,
        label: r.label,
        runCount: r.runCount,
        ttftMs: percentiles(r.ttft),
        durationMs: percentiles(r.duration),
      })),
    };
  }

  async tools(ctx: Context, viewer: Viewer, input: ReportRangeInput) {
    return { rows: await toolRows(ctx.em, this.scope(viewer, input)) };
  }

  /** Range checked; the viewer's own data unless an admin asks for everyone's. */
  private scope(viewer: Viewer, input: ReportRangeInput): ReportScope {
    const { from, to } = checkReportRange(input.from, input.to);
    if (input.allUsers && !isAdmin(viewer)) throw forbidden('allUsers is for admins only');
    return { from, to, ownerId: input.allUsers ? undefined : viewer.id };
  }
}
