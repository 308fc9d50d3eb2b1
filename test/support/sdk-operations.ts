import {
  Kind,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  typeFromAST,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import * as sdk from '../../sdk/generated/graphql';
import { MAX_PAGE_SIZE } from '../../src/server/relay';

export interface SdkOperation {
  name: string;
  document: DocumentNode;
  operation: OperationDefinitionNode;
}

/** Every typed document of the generated SDK: what its clients send. */
export const sdkOperations: SdkOperation[] = Object.entries(sdk)
  .filter(([name]) => name.endsWith('Document'))
  .map(([name, document]) => {
    const doc = document as DocumentNode;
    return { name, document: doc, operation: doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode };
  });

const SAMPLES: Record<string, unknown> = {
  // Every Int at the largest page: the costliest `first` a client can send.
  Int: MAX_PAGE_SIZE,
  Float: 1,
  Boolean: true,
  ID: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  String: 'x',
  DateTimeISO: '2025-01-01T00:00:00Z',
  JSON: {},
  JSONObject: {},
};

/** Values that coerce for an operation's variables (required input fields only), at their costliest. */
export function worstCaseVariables(schema: GraphQLSchema, operation: OperationDefinitionNode): Record<string, unknown> {
  const sample = (type: GraphQLInputType): unknown => {
    const t = getNullableType(type);
    if (isListType(t)) return [sample(t.ofType)];
    if (isEnumType(t)) return t.getValues()[0].value;
    if (isInputObjectType(t)) {
      const required = Object.values(t.getFields()).filter((f) => isNonNullType(f.type));
      return Object.fromEntries(required.map((f) => [f.name, sample(f.type)]));
    }
    if (isScalarType(t) && t.name in SAMPLES) return SAMPLES[t.name];
    throw new Error(`no sample value for ${getNamedType(type).name}`);
  };
  return Object.fromEntries(
    (operation.variableDefinitions ?? []).map((v) => [v.variable.name.value, sample(typeFromAST(schema, v.type as never) as GraphQLInputType)]),
  );
}
