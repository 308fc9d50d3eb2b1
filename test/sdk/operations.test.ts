import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  Kind,
  buildSchema,
  getNamedType,
  isAbstractType,
  isObjectType,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { RunEventsDocument } from '../../sdk';

const schema = buildSchema(readFileSync(path.join(__dirname, '../../schema.graphql'), 'utf8'));

/** Fields of `type` that `selectionSet` leaves out, as paths, descending into object fields. */
function missingFields(s: GraphQLSchema, doc: DocumentNode, type: GraphQLObjectType, selectionSet: SelectionSetNode, at = type.name): string[] {
  const fragments = new Map(
    doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  // Every field selection that applies to `type`, through fragments on it or on an interface it implements.
  const applies = (typeName: string | undefined) => {
    if (!typeName || typeName === type.name) return true;
    const condition = s.getType(typeName);
    return !!condition && isAbstractType(condition) && s.isSubType(condition, type);
  };
  const selected = new Map<string, SelectionSetNode[]>();
  const collect = (set: SelectionSetNode) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) selected.set(sel.name.value, [...(selected.get(sel.name.value) ?? []), ...(sel.selectionSet ? [sel.selectionSet] : [])]);
      else if (sel.kind === Kind.INLINE_FRAGMENT) {
        if (applies(sel.typeCondition?.name.value)) collect(sel.selectionSet);
      } else {
        const fragment = fragments.get(sel.name.value)!;
        if (applies(fragment.typeCondition.name.value)) collect(fragment.selectionSet);
      }
    }
  };
  collect(selectionSet);
  return Object.values(type.getFields()).flatMap((field) => {
    const sets = selected.get(field.name);
    if (!sets) return [`${at}.${field.name}`];
    const named = getNamedType(field.type);
    if (!isObjectType(named)) return [];
    return missingFields(s, doc, named, { kind: Kind.SELECTION_SET, selections: sets.flatMap((x) => x.selections) }, `${at}.${field.name}`);
  });
}

describe('the bundled SDK operations', () => {
  it('RunEvents selects every field of every RunEvent type, nested objects included', () => {
    const runEvent = schema.getType('RunEvent');
    if (!runEvent || !isAbstractType(runEvent)) throw new Error('RunEvent is not an interface or union');
    const types = schema.getPossibleTypes(runEvent);
    expect(types.length).toBeGreaterThanOrEqual(13);

    const op = RunEventsDocument.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)!;
    const field = op.selectionSet.selections.find((s) => s.kind === Kind.FIELD && s.name.value === 'runEvents');
    if (!field || field.kind !== Kind.FIELD || !field.selectionSet) throw new Error('RunEvents selects no runEvents');
    const selection = field.selectionSet;
    const missing = types.flatMap((t) => missingFields(schema, RunEventsDocument, t, selection));
    expect(missing).toEqual([]);
  });
});
