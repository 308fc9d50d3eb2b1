import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType('Usage', { simpleResolvers: true, description: 'Token usage and cost; sums of their parts at every level.' })
export class UsageType {
  @Field(() => Int, { description: 'Input tokens billed.' })
  promptTokens!: number;

  @Field(() => Int, { description: 'Output tokens billed (includes reasoning tokens).' })
  completionTokens!: number;

  @Field(() => Int, { description: 'Output tokens spent on reasoning.' })
  reasoningTokens!: number;

  @Field(() => Int, { description: 'Input tokens served from the provider cache.' })
  cachedTokens!: number;

  @Field(() => Int, { description: 'promptTokens + completionTokens.' })
  totalTokens!: number;

  @Field(() => Float, { description: 'Cost in US dollars from the model catalog prices.' })
  costUsd!: number;
}

/** Token counts are Postgres ints: anything larger is clamped here, never left to overflow a row. */
export const MAX_TOKEN_COUNT = 2_147_483_647;

export interface UsageColumns {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  costUsd: number;
}

export const toUsage = (u: UsageColumns): UsageType => ({
  promptTokens: u.promptTokens,
  completionTokens: u.completionTokens,
  reasoningTokens: u.reasoningTokens,
  cachedTokens: u.cachedTokens,
  totalTokens: u.promptTokens + u.completionTokens,
  costUsd: u.costUsd,
});

export const ZERO_USAGE: UsageColumns = { promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, costUsd: 0 };
