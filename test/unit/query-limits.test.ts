import { readFileSync } from 'node:fs';
import { GraphQLError, buildSchema, getIntrospectionQuery, parse, print, type OperationDefinitionNode } from 'graphql';
import { loadConfig } from '../../src/config';
import { createQueryGuard } from '../../src/server/query-guard';
import { operationCost } from '../../src/server/query-cost';
import { sdkOperations, worstCaseVariables } from '../support/sdk-operations';

const schema = buildSchema(readFileSync('schema.graphql', 'utf8'));
const defaults = loadConfig({});

type Refusal = { message: string; code?: string } & Record<string, unknown>;

/** What a node with these settings answers a document: 'ok', or the errors with the refusal's code and details. */
function check(query: string, variables?: Record<string, unknown>, env: Record<string, string> = {}): 'ok' | Refusal[] {
  const guard = createQueryGuard(loadConfig(env));
  const result = guard.onSubscribe(schema, { query, variables });
  if (!Array.isArray(result)) return 'ok';
  return (result as readonly GraphQLError[]).map((e) => {
    const app = e.originalError as { code?: string; details?: object } | undefined;
    return { message: e.message, ...app?.details, code: app?.code };
  });
}

const costOf = (query: string, variables?: Record<string, unknown>) => {
  const document = parse(query);
  const estimate = operationCost(schema, document, document.definitions[0] as OperationDefinitionNode, variables);
  return estimate.kind === 'cost' ? estimate.cost : estimate.kind;
};

describe('the default limits', () => {
  it('let every SDK operation through, with every Int variable at the largest page', () => {
    expect(sdkOperations.length).toBeGreaterThan(40);
    const costs: Record<string, number | string> = {};
    for (const { name, document, operation } of sdkOperations) {
      const variables = worstCaseVariables(schema, operation);
      expect({ name, result: check(print(document), variables) }).toEqual({ name, result: 'ok' });
      costs[name] = costOf(print(document), variables);
    }
    // The costliest SDK operation still leaves room under the default.
    expect(Math.max(...(Object.values(costs) as number[]))).toBeLessThan(defaults.queryLimits.maxCost / 2);
  });

  it("let graphql-js's and GraphiQL's introspection queries through", () => {
    expect(check(getIntrospectionQuery())).toBe('ok');
    const everything = { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true };
    expect(check(getIntrospectionQuery(everything))).toBe('ok');
  });

  it('refuse introspection when PARLEY_INTROSPECTION is off, and in production unless it is on', () => {
    expect(check('{ __schema { queryType { name } } }', undefined, { PARLEY_INTROSPECTION: 'off' })).toContainEqual(
      expect.objectContaining({ message: expect.stringMatching(/introspection has been disabled/) }),
    );
    expect(loadConfig({ NODE_ENV: 'production' }).introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', PARLEY_INTROSPECTION: 'on' }).introspection).toBe(true);
    expect(loadConfig({}).introspection).toBe(true);
    // __typename is no introspection of the schema.
    expect(check('{ viewer { __typename } }', undefined, { PARLEY_INTROSPECTION: 'off' })).toBe('ok');
  });
});

describe('the cost of an operation', () => {
  it('counts every field once and a connection page by `first`, or the default page size', () => {
    expect(costOf('{ viewer { id email } }')).toBe(3);
    const page = (first: string) => `{ conversations${first} { edges { node { id title } } pageInfo { hasNextPage } } }`;
    // conversations 1 + first × (edges 1 + node 1 + id + title, pageInfo 1 + hasNextPage).
    expect(costOf(page('(first: 10)'))).toBe(1 + 10 * 6);
    expect(costOf(page(''))).toBe(1 + 20 * 6);
    expect(costOf('query($n: Int) { conversations(first: $n) { edges { node { id } } } }', { n: 50 })).toBe(1 + 50 * 3);
  });

  it('leaves a directive whose variable does not coerce to execution instead of throwing', () => {
    // `$b: Boolean = true` sent as null passes validation; @include's `if` then cannot be read.
    expect(costOf('query($b: Boolean = true) { viewer @include(if: $b) { id } }', { b: null })).toBe(0);
  });

  it('gives lists without `first` an assumed size, and lists of scalars cost 1', () => {
    expect(costOf('query($id: ID!) { message(id: $id) { children { id } } }', { id: 'x' })).toBe(1 + 1 + 100);
    expect(costOf('query($id: ID!) { message(id: $id) { edits { previousContent } } }', { id: 'x' })).toBe(1 + 1 + 20);
    expect(costOf('query($id: ID!) { conversation(id: $id) { tags } }', { id: 'x' })).toBe(2);
  });

  it('multiplies through the children/parent cycle', () => {
    const cycle = (levels: number) => `query($id: ID!) { message(id: $id) { ${'children { parent { '.repeat(levels)}id${' } }'.repeat(levels)} } }`;
    expect(costOf(cycle(1), { id: 'x' })).toBe(1 + 1 + 100 * (1 + 1));
    expect(costOf(cycle(3), { id: 'x' })).toBeGreaterThan(100 ** 3);
  });

  it('follows fragments and @skip/@include, and leaves __typename and introspection out', () => {
    const query = `query($skip: Boolean!) { viewer { ...V __typename } conversations @skip(if: $skip) { edges { node { id } } } __schema { types { name fields { name } } } }
      fragment V on User { id email }`;
    expect(costOf(query, { skip: true })).toBe(1 + 2 + 1);
    expect(costOf(query, { skip: false })).toBe(1 + 2 + 1 + 1 + 20 * 3);
  });

  it('stops walking a fragment bomb', () => {
    const names = Array.from({ length: 20 }, (_, i) => `F${i}`);
    const fragments = names.map((n, i) => `fragment ${n} on User { ${i === names.length - 1 ? 'id' : `...${names[i + 1]} ...${names[i + 1]}`} }`);
    expect(costOf(`{ viewer { ...F0 } } ${fragments.join(' ')}`)).toBe('too-many-nodes');
  });
});

describe('refusals', () => {
  const deep = (levels: number) =>
    `query($id: ID!) { conversation(id: $id) { messages { edges { node { ${'children { parent { '.repeat(levels)}id${' } }'.repeat(levels)} } } } } }`;

  it('refuse a 40-level document by its depth, and by its cost when depth is allowed', () => {
    expect(check(deep(20), { id: 'x' })).toEqual([expect.objectContaining({ code: 'QUERY_TOO_COMPLEX', depth: 45, maxDepth: 15 })]);
    const [refusal] = check(deep(20), { id: 'x' }, { PARLEY_MAX_QUERY_DEPTH: '100' }) as Refusal[];
    expect(refusal).toEqual(expect.objectContaining({ code: 'QUERY_TOO_COMPLEX', maxCost: 50_000 }));
    expect(refusal.cost).toBeGreaterThan(50_000);
  });

  it('refuse too many aliases and directives, with the count and the limit', () => {
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: viewer { id }`).join(' ');
    expect(check(`{ ${aliases} }`)).toEqual([expect.objectContaining({ code: 'QUERY_TOO_COMPLEX', aliases: 31, maxAliases: 30 })]);
    const directives = 'id @include(if: true) '.repeat(51);
    expect(check(`{ viewer { ${directives} } }`)).toEqual([expect.objectContaining({ code: 'QUERY_TOO_COMPLEX', directives: 51, maxDirectives: 50 })]);
  });

  it('refuse a document past the token limit while parsing', () => {
    const [error] = check(`{ viewer { id ${'@include(if: true) '.repeat(2_000)} } }`) as Refusal[];
    expect(error.message).toMatch(/Document contains more th(an|at) 5000 tokens/);
  });

  it('are all off with PARLEY_GUARDRAILS=off, but for the introspection switch', () => {
    expect(check(deep(20), { id: 'x' }, { PARLEY_GUARDRAILS: 'off' })).toBe('ok');
    expect(check('{ __schema { queryType { name } } }', undefined, { PARLEY_GUARDRAILS: 'off', PARLEY_INTROSPECTION: 'off' })).not.toBe('ok');
  });
});
