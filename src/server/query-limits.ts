import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { QueryLimits } from '../config';
import { AppError, ErrorCode } from './errors';
import { operationCost } from './query-cost';

/**
 * What a GraphQL document may ask for, in the three steps that see it: the
 * parser (tokens), validation (depth, aliases, directives, introspection) and,
 * once the operation and its variables are known, its cost. Both transports
 * (Apollo over HTTP, graphql-ws) take their checks from here.
 */

export const tooComplex = (message: string, details: Record<string, unknown>) =>
  new AppError(ErrorCode.QUERY_TOO_COMPLEX, message, details);

/** The refusal as GraphQL carries it; the formatter finds the AppError inside. */
export const asGraphQLError = (err: AppError, extensions?: Record<string, unknown>) =>
  new GraphQLError(err.message, { originalError: err, extensions });

/** graphql-js counts tokens while it parses and stops at the limit, so no oversized document reaches validation. */
export const parseOptions = (limits: QueryLimits): ParseOptions => ({ maxTokens: limits.maxTokens });

/** graphql-armor puts the count it found only in its message ("… exceeded, found 40."). */
const found = (err: GraphQLError): number | undefined => {
  const match = /found (-?\d+)/.exec(err.message);
  return match ? Number(match[1]) : undefined;
};

/**
 * Options of a graphql-armor rule that report its rejection as ours
 * (QUERY_TOO_COMPLEX, the count found and the limit) instead of its
 * "Syntax Error" text, and leave the other rules running.
 */
function refusing(measure: string, key: string, limitKey: string, limit: number) {
  return {
    n: limit,
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (ctx: ValidationContext | null, err: GraphQLError) => {
        const count = found(err);
        const message = `The operation's ${measure} is ${count === undefined ? 'over' : `${count}, over`} the limit of ${limit}`;
        ctx?.reportError(asGraphQLError(tooComplex(message, { [key]: count, [limitKey]: limit })));
      },
    ],
  };
}

/** Validation rules added to graphql-js's own; without limits (PARLEY_GUARDRAILS=off) only the introspection switch. */
export function validationRules(limits: QueryLimits | undefined, introspection: boolean): ValidationRule[] {
  const switches = introspection ? [] : [NoSchemaIntrospectionCustomRule];
  if (!limits) return switches;
  return [
    // Fragments add no depth of their own: depth is how deep the answer nests.
    maxDepthRule({ ...refusing('depth', 'depth', 'maxDepth', limits.maxDepth), flattenFragments: true }),
    maxAliasesRule(refusing('alias count', 'aliases', 'maxAliases', limits.maxAliases)),
    maxDirectivesRule(refusing('directive count', 'directives', 'maxDirectives', limits.maxDirectives)),
    ...switches,
  ];
}

/** The refusal of an operation whose estimated cost is past the limit (see query-cost.ts). */
export function costRefusal(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  limits: QueryLimits,
): AppError | undefined {
  const estimate = operationCost(schema, document, operation, variables);
  if (estimate.kind === 'too-many-nodes') {
    return tooComplex(`The operation expands (through its fragments) to more than ${estimate.maxNodes} fields`, { maxNodes: estimate.maxNodes });
  }
  if (estimate.kind === 'too-deep') return tooComplex('The operation nests too deeply to be costed', { maxDepth: limits.maxDepth });
  const { maxCost } = limits;
  if (estimate.cost <= maxCost) return undefined;
  const advice = 'ask for smaller pages (`first`) or fewer nested lists';
  return tooComplex(`The operation's estimated cost is ${estimate.cost}, over the limit of ${maxCost}: ${advice}`, { cost: estimate.cost, maxCost });
}
