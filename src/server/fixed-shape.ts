import {
  GraphQLError,
  getOperationAST,
  isAbstractType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLLeafType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { getArgumentValues } from 'graphql/execution/values';

/**
 * A subscription event's result computed without graphql-js `execute`, for
 * operations whose shape is fixed: one root field (its resolver is called as
 * graphql-js calls it), then only fields graphql-js would read with its
 * default resolver (no resolver of their own), leaves serialized by their
 * scalar or enum, `__typename`, fragments and nested plain objects or lists.
 * The plan is built once per document and operation; running it per event
 * is property reads and scalar serialization.
 *
 * Anything else — a directive, a field with a resolver, a union, a value
 * graphql-js would report as an error (a null in a non-null field, a
 * serialization failure, a resolver that throws) — is not handled
 * here: `compileFixedShape` answers undefined, or running the plan throws
 * `NOT_FIXED`, and the caller executes that event with graphql-js, which
 * reports it exactly as it always has.
 */

/** Thrown by a plan when an event needs graphql-js after all. */
export const NOT_FIXED: unique symbol = Symbol('not a fixed-shape result');

type Complete = (value: unknown) => unknown;

interface Plan {
  /** The root field's response key. */
  key: string;
  field: GraphQLField<unknown, unknown>;
  /** Everything of GraphQLResolveInfo but `rootValue`, which is the event. */
  info: Omit<GraphQLResolveInfo, 'rootValue'>;
  args: Record<string, unknown>;
  complete: (value: unknown) => unknown;
}

/** Runs a fixed-shape plan on one event: the result graphql-js would produce, or rejects with NOT_FIXED. */
export type FixedShape = (event: unknown, contextValue: unknown) => Promise<{ data: Record<string, unknown> }>;

/** No fixed shape for this operation (graphql-js executes its events). */
class Unsupported extends Error {}

const notFixed = (): never => {
  throw NOT_FIXED;
};

export function compileFixedShape(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variableValues: Record<string, unknown> | null | undefined,
): FixedShape | undefined {
  try {
    const plan = planOf(schema, document, operationName, variableValues ?? {});
    return async (event, contextValue) => {
      let resolved: unknown;
      try {
        resolved = await plan.field.resolve!(event, plan.args, contextValue, { ...plan.info, rootValue: event });
      } catch {
        notFixed(); // graphql-js words and locates the error
      }
      return { data: { [plan.key]: await plan.complete(resolved) } };
    };
  } catch (err) {
    if (err instanceof Unsupported || err instanceof GraphQLError) return undefined;
    throw err;
  }
}

function planOf(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): Plan {
  const operation = getOperationAST(document, operationName);
  const root = schema.getSubscriptionType();
  if (!operation || operation.operation !== 'subscription' || !root) throw new Unsupported();
  const fragments: Record<string, FragmentDefinitionNode> = Object.create(null);
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  const fields = collect(schema, root, [operation.selectionSet], fragments);
  if (fields.size !== 1) throw new Unsupported();
  const [[key, nodes]] = fields;
  const field = root.getFields()[nodes[0].name.value];
  if (!field?.resolve) throw new Unsupported();
  // Coerced once: the variables of an operation never change over its events (throws GraphQLError when invalid).
  const args = getArgumentValues(field, nodes[0], variables);
  const info: Omit<GraphQLResolveInfo, 'rootValue'> = {
    fieldName: field.name,
    fieldNodes: nodes,
    returnType: field.type,
    parentType: root,
    path: { prev: undefined, key, typename: root.name },
    schema,
    fragments,
    operation,
    variableValues: variables,
  };
  return { key, field, info, args, complete: rootCompleter(schema, field.type, nodes, fragments) };
}

/**
 * The root field's value may be of an abstract type, whose resolveType may be
 * asynchronous (type-graphql's is): awaited once per event, here only.
 */
function rootCompleter(schema: GraphQLSchema, type: GraphQLOutputType, nodes: readonly FieldNode[], fragments: Record<string, FragmentDefinitionNode>) {
  const nonNull = isNonNullType(type);
  const named = nonNull ? type.ofType : type;
  if (!isAbstractType(named)) return completer(schema, type, nodes, fragments);
  const resolveType = named.resolveType;
  if (!resolveType) throw new Unsupported();
  const byType = new Map<string, Complete>();
  for (const possible of schema.getPossibleTypes(named)) {
    let complete: Complete;
    try {
      complete = objectCompleter(schema, possible, nodes, fragments);
    } catch (err) {
      // One type that needs graphql-js leaves the others fixed: only its events are executed.
      if (!(err instanceof Unsupported)) throw err;
      complete = notFixed;
    }
    byType.set(possible.name, complete);
  }
  if ([...byType.values()].every((c) => c === notFixed)) throw new Unsupported();
  return async (value: unknown) => {
    if (value == null) return nonNull ? notFixed() : null;
    // The schema's resolveType reads the value alone; a type name is all that is fixed.
    const name: unknown = await resolveType(value, undefined, undefined as never, named);
    const complete = typeof name === 'string' ? byType.get(name) : undefined;
    return complete ? complete(value) : notFixed();
  };
}

/** graphql-js's field collection for one concrete type, refusing directives (their outcome is left to graphql-js). */
function collect(
  schema: GraphQLSchema,
  type: GraphQLObjectType,
  selectionSets: readonly SelectionSetNode[],
  fragments: Record<string, FragmentDefinitionNode>,
  fields = new Map<string, FieldNode[]>(),
): Map<string, FieldNode[]> {
  for (const set of selectionSets) {
    for (const selection of set.selections) {
      if (selection.directives?.length) throw new Unsupported();
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const list = fields.get(key);
        if (list) list.push(selection);
        else fields.set(key, [selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(schema, type, selection.typeCondition?.name.value)) collect(schema, type, [selection.selectionSet], fragments, fields);
      } else {
        const fragment = fragments[selection.name.value];
        if (!fragment) throw new Unsupported();
        if (fragment.directives?.length) throw new Unsupported();
        if (applies(schema, type, fragment.typeCondition.name.value)) collect(schema, type, [fragment.selectionSet], fragments, fields);
      }
    }
  }
  return fields;
}

function applies(schema: GraphQLSchema, type: GraphQLObjectType, condition: string | undefined): boolean {
  if (!condition || condition === type.name) return true;
  const conditionType = schema.getType(condition);
  return !!conditionType && isAbstractType(conditionType) && schema.isSubType(conditionType, type);
}

function completer(schema: GraphQLSchema, type: GraphQLOutputType, nodes: readonly FieldNode[], fragments: Record<string, FragmentDefinitionNode>): Complete {
  if (isNonNullType(type)) {
    const inner = completer(schema, type.ofType, nodes, fragments);
    return (value) => (value == null ? notFixed() : inner(value));
  }
  let complete: Complete;
  if (isListType(type)) {
    const item = completer(schema, type.ofType, nodes, fragments);
    complete = (value) => (Array.isArray(value) ? value.map(item) : notFixed());
  } else if (isLeafType(type)) {
    complete = leaf(type);
  } else if (isObjectType(type)) {
    complete = objectCompleter(schema, type, nodes, fragments);
  } else throw new Unsupported();
  return (value) => (value == null ? null : complete(value));
}

function leaf(type: GraphQLLeafType): Complete {
  return (value) => {
    let serialized: unknown;
    try {
      serialized = type.serialize(value);
    } catch {
      notFixed();
    }
    return serialized === undefined ? notFixed() : serialized;
  };
}

function objectCompleter(schema: GraphQLSchema, type: GraphQLObjectType, nodes: readonly FieldNode[], fragments: Record<string, FragmentDefinitionNode>): Complete {
  if (type.isTypeOf) throw new Unsupported();
  const subSets = nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
  const entries: [string, string | null, Complete | null][] = [];
  for (const [key, fieldNodes] of collect(schema, type, subSets, fragments)) {
    const name = fieldNodes[0].name.value;
    if (name === '__typename') {
      entries.push([key, null, null]);
      continue;
    }
    const field = type.getFields()[name];
    // A resolver of its own may do anything: only what the default resolver would read is fixed.
    if (!field || field.resolve) throw new Unsupported();
    entries.push([key, name, completer(schema, field.type, fieldNodes, fragments)]);
  }
  const typename = type.name;
  return (value) => {
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, name, complete] of entries) {
      if (name === null) {
        out[key] = typename;
        continue;
      }
      const v = source[name];
      if (typeof v === 'function') notFixed(); // the default resolver would call it
      out[key] = complete!(v);
    }
    return out;
  };
}
