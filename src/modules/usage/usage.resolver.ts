import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import { toUsage } from './usage.types';
import { LatencyReportInput, ReportRangeInput, UsageReportInput } from './usage-report.inputs';
import { LatencyReportType, ToolUsageReportType, UsageReportType } from './usage-report.types';
import { AgentUsageResolver, ConversationUsageResolver, UserUsageResolver } from './usage-fields.resolver';

@Resolver()
export class UsageReportResolver {
  @Query(() => UsageReportType, {
    description: "Tokens, cost, runs and messages over a range, bucketed; the viewer's data (admins: allUsers for everyone's).",
  })
  async usageReport(
    @Arg('input', () => UsageReportInput, { description: 'Range and grouping.' }) input: UsageReportInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<UsageReportType> {
    const report = await ctx.services.usage.report(ctx, viewer, input);
    return {
      ...report,
      totals: toUsage(report.totals),
      buckets: report.buckets.map((b) => ({ ...b, usage: toUsage(b.usage) })),
    };
  }

  @Query(() => LatencyReportType, { description: 'p50/p95/p99 time to first token and duration of completed runs, grouped.' })
  async latencyReport(
    @Arg('input', () => LatencyReportInput, { description: 'Range and grouping.' }) input: LatencyReportInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<LatencyReportType> {
    return ctx.services.usage.latency(ctx, viewer, input);
  }

  @Query(() => ToolUsageReportType, { description: 'Calls, errors, success rate and mean duration per tool.' })
  async toolUsageReport(
    @Arg('input', () => ReportRangeInput, { description: 'Range.' }) input: ReportRangeInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ToolUsageReportType> {
    return ctx.services.usage.tools(ctx, viewer, input);
  }
}

/** Every resolver of the usage module: the report queries and the usage fields added to other types. */
export const USAGE_RESOLVERS = [UsageReportResolver, ConversationUsageResolver, AgentUsageResolver, UserUsageResolver] as const;
