import {
  GraphQLError,
  TypeInfo,
  ValidationContext,
  getNullableType,
  isListType,
  type DocumentNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { createComplexityRule, type ComplexityEstimator } from 'graphql-query-complexity';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './relay';

/**
 * The cost of an operation estimates how many fields its answer holds: every
 * field counts 1, and a list counts its size times what each item selects.
 * A connection's size is its `first` (the default page size when absent); a
 * list with no `first` gets the size assumed below. graphql-query-complexity
 * walks the document (fragments, inline fragments on unions and interfaces,
 * `@skip`/`@include` with the request's variables); this file only says what
 * each field costs.
 */

/**
 * Lists that no argument bounds. `children` and `siblings` list at most 100
 * replies (message.resolver.ts), and are counted as that many: a smaller guess
 * would let `children { parent { children … } } }` past at a fraction of its
 * real size over a wide node.
 */
export const ASSUMED_LIST_SIZES: Readonly<Record<string, number>> = {
  'Message.children': MAX_PAGE_SIZE,
  'Message.siblings': MAX_PAGE_SIZE,
  'Message.edits': 20,
  'Run.steps': 20,
};

/** Any other list (tool calls, report rows, catalogs). Lists of scalars cost 1 whatever their size. */
export const DEFAULT_LIST_SIZE = 20;

/** How many items a field's answer is counted as. */
function listSize(parentType: string, field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number {
  if (field.args.some((a) => a.name === 'first')) {
    // Resolvers refuse a `first` past MAX_PAGE_SIZE; clamping keeps the estimate about what can run.
    const first = typeof args.first === 'number' ? args.first : DEFAULT_PAGE_SIZE;
    return Math.min(Math.max(first, 1), MAX_PAGE_SIZE);
  }
  if (!isListType(getNullableType(field.type))) return 1;
  // `edges` of a connection: its size was counted at the connection field, by `first`.
  if (parentType.endsWith('Connection')) return 1;
  return ASSUMED_LIST_SIZES[`${parentType}.${field.name}`] ?? DEFAULT_LIST_SIZE;
}

export const estimateField: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  if (field.name === '__typename') return 0;
  // Introspection is answered from the schema in memory, and graphql-js's own
  // MaxIntrospectionDepthRule bounds its cycles (`fields { type { fields … } }`).
  if (field.name.startsWith('__')) return 1;
  if (type.name.startsWith('__')) return 0;
  return 1 + listSize(type.name, field, args) * childComplexity;
};

/** Fields (fragment spreads expanded) walked at most; a fragment bomb stops here, not in an exponential walk. */
export const MAX_COSTED_NODES = 10_000;

export type CostEstimate =
  | { kind: 'cost'; cost: number }
  /** The document expands (through fragments) to more fields than are worth walking. */
  | { kind: 'too-many-nodes'; maxNodes: number }
  /** Nested deeper than the walk's recursion can follow (only when the depth limit was raised past ~1 000). */
  | { kind: 'too-deep' };

/** The cost of one operation of a validated document, with the request's variables. */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  maxNodes = MAX_COSTED_NODES,
): CostEstimate {
  // Variables that do not coerce leave the cost at 0: execution then refuses them before any resolver runs.
  const context = new ValidationContext(schema, document, new TypeInfo(schema), () => undefined);
  const visitor = createComplexityRule({ maximumComplexity: Infinity, estimators: [estimateField], variables, maxQueryNodes: maxNodes })(context);
  try {
    // Entering the operation computes its whole cost; no document walk is needed for the rest.
    visitor.onOperationDefinitionEnter(operation);
  } catch (err) {
    if (visitor.evaluatedNodes >= maxNodes) return { kind: 'too-many-nodes', maxNodes };
    if (err instanceof RangeError) return { kind: 'too-deep' };
    // A directive argument whose variable does not coerce (`@include(if: $b)` with b null): execution refuses it.
    if (err instanceof GraphQLError) return { kind: 'cost', cost: 0 };
    throw err;
  }
  return { kind: 'cost', cost: visitor.complexity };
}
