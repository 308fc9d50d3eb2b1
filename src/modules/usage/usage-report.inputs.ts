import { Field, InputType, registerEnumType } from 'type-graphql';

export enum UsageGroupBy {
  DAY = 'DAY',
  MODEL = 'MODEL',
  AGENT = 'AGENT',
  CONVERSATION = 'CONVERSATION',
}
registerEnumType(UsageGroupBy, {
  name: 'UsageGroupBy',
  description: 'How a usage report is bucketed: DAY is a UTC time series with empty days included.',
  valuesConfig: {
    DAY: { description: 'One bucket per UTC calendar day of the range, empty days included.' },
    MODEL: { description: 'By the model that wrote the message or ran the run.' },
    AGENT: { description: 'By the agent of the message or run.' },
    CONVERSATION: { description: 'By conversation.' },
  },
});

export enum LatencyGroupBy {
  MODEL = 'MODEL',
  AGENT = 'AGENT',
}
registerEnumType(LatencyGroupBy, {
  name: 'LatencyGroupBy',
  description: 'How a latency report is grouped.',
  valuesConfig: { MODEL: { description: 'By run model.' }, AGENT: { description: 'By run agent.' } },
});

@InputType({ description: 'A half-open time range [from, to) of at most 366 days, and whose data to report; toolUsageReport takes it as is.' })
export class ReportRangeInput {
  @Field(() => Date, { description: 'Start of the range (inclusive).' })
  from!: Date;

  @Field(() => Date, { description: 'End of the range (exclusive); after from, at most 366 days later.' })
  to!: Date;

  @Field(() => Boolean, { nullable: true, description: "Admins only: report every user's data instead of the viewer's." })
  allUsers?: boolean;
}

@InputType({ description: 'What usageReport covers and how it groups.' })
export class UsageReportInput extends ReportRangeInput {
  @Field(() => UsageGroupBy, { description: 'Bucketing: DAY, MODEL, AGENT or CONVERSATION.' })
  groupBy!: UsageGroupBy;
}

@InputType({ description: 'What latencyReport covers and how it groups.' })
export class LatencyReportInput extends ReportRangeInput {
  @Field(() => LatencyGroupBy, { description: 'Grouping: MODEL or AGENT.' })
  groupBy!: LatencyGroupBy;
}
