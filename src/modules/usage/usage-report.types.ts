import { Field, Float, Int, ObjectType } from 'type-graphql';
import { UsageType } from './usage.types';
import { LatencyGroupBy, UsageGroupBy } from './usage-report.inputs';

@ObjectType('UsageBucket', { description: 'Usage of one group of a usage report.' })
export class UsageBucketType {
  @Field(() => String, {
    nullable: true,
    description:
      'Group key: YYYY-MM-DD (DAY, UTC), model id, agent id or conversation id; null for the group without a model or agent.',
  })
  key!: string | null;

  @Field(() => String, { nullable: true, description: 'Human label: the agent name or conversation title when there is one.' })
  label!: string | null;

  @Field(() => Date, { nullable: true, description: 'Start of the bucket (DAY: midnight UTC); null for other groupings.' })
  from!: Date | null;

  @Field(() => UsageType, { description: 'Tokens and cost of the messages in this bucket.' })
  usage!: UsageType;

  @Field(() => Int, { description: 'Runs created in this bucket.' })
  runCount!: number;

  @Field(() => Int, { description: 'Messages created in this bucket.' })
  messageCount!: number;
}

@ObjectType('UsageReport', {
  description:
    'Usage over a time range, grouped. Usage is summed over messages (the ledger Conversation.usage uses), so totals over every conversation equal the sum of their usage.',
})
export class UsageReportType {
  @Field(() => UsageGroupBy, { description: 'How buckets are grouped.' })
  groupBy!: UsageGroupBy;

  @Field(() => Date, { description: 'Start of the range (inclusive).' })
  from!: Date;

  @Field(() => Date, { description: 'End of the range (exclusive).' })
  to!: Date;

  @Field(() => [UsageBucketType], {
    description: 'DAY: every UTC day of the range, oldest first, empty days included. Others: most expensive first.',
  })
  buckets!: UsageBucketType[];

  @Field(() => UsageType, { description: 'Sum of all buckets.' })
  totals!: UsageType;

  @Field(() => Int, { description: 'Runs created in the range.' })
  runCount!: number;

  @Field(() => Int, { description: 'Messages created in the range.' })
  messageCount!: number;
}

@ObjectType('LatencyPercentiles', { description: 'Continuous percentiles in milliseconds; null when there are no samples.' })
export class LatencyPercentilesType {
  @Field(() => Float, { nullable: true, description: 'Median.' })
  p50!: number | null;

  @Field(() => Float, { nullable: true, description: '95th percentile.' })
  p95!: number | null;

  @Field(() => Float, { nullable: true, description: '99th percentile.' })
  p99!: number | null;
}

@ObjectType('LatencyReportRow', { description: 'Latency of the completed runs of one model or agent.' })
export class LatencyReportRowType {
  @Field(() => String, { nullable: true, description: 'Model id or agent id; null for runs without an agent.' })
  key!: string | null;

  @Field(() => String, { nullable: true, description: 'Agent name (AGENT grouping).' })
  label!: string | null;

  @Field(() => Int, { description: 'Completed runs in the group.' })
  runCount!: number;

  @Field(() => LatencyPercentilesType, { description: 'Time to first token (runs.timeToFirstTokenMs).' })
  ttftMs!: LatencyPercentilesType;

  @Field(() => LatencyPercentilesType, { description: 'Run duration, startedAt to completedAt.' })
  durationMs!: LatencyPercentilesType;
}

@ObjectType('LatencyReport', { description: 'Latency percentiles of completed runs created in a range.' })
export class LatencyReportType {
  @Field(() => LatencyGroupBy, { description: 'How rows are grouped.' })
  groupBy!: LatencyGroupBy;

  @Field(() => [LatencyReportRowType], { description: 'One row per group, most runs first.' })
  rows!: LatencyReportRowType[];
}

@ObjectType('ToolUsageRow', { description: 'Calls of one tool.' })
export class ToolUsageRowType {
  @Field({ description: 'Tool name.' })
  toolName!: string;

  @Field(() => Int, { description: 'Tool-call steps started in the range.' })
  calls!: number;

  @Field(() => Int, { description: 'Calls whose step FAILED.' })
  errors!: number;

  @Field(() => Float, { description: '(calls − errors) / calls, from 0 to 1.' })
  successRate!: number;

  @Field(() => Float, { nullable: true, description: 'Mean step duration in milliseconds.' })
  avgDurationMs!: number | null;
}

@ObjectType('ToolUsageReport', { description: 'Tool-call statistics over a range.' })
export class ToolUsageReportType {
  @Field(() => [ToolUsageRowType], { description: 'One row per tool, most called first.' })
  rows!: ToolUsageRowType[];
}
