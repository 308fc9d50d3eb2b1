import { Writable } from 'node:stream';
import pino from 'pino';
import { OperationTypeNode, buildSchema, getIntrospectionQuery, print } from 'graphql';
import { readFileSync } from 'node:fs';
import { startTestParley, type GqlResult, type TestParley } from '../support/parley';
import { sdkOperations, worstCaseVariables } from '../support/sdk-operations';
import { startHarness, type Harness } from '../runs/fake-run-harness';
import { RUN_EVENTS, type RunEventsData } from '../runs/run-helpers';
import { ok } from '../tree/tree-helpers';

/**
 * Query cost guardrails through real nodes: documents refused before they run
 * (QUERY_TOO_COMPLEX, with the measure that refused them), the same over
 * graphql-ws for one operation of a socket, and operations stopped by their
 * deadline or by their client going away.
 */

const IMPORT = `mutation($input: ImportConversationInput!) { importConversation(input: $input) { conversation { id activeLeaf { id } } } }`;

type Imported = { importConversation: { conversation: { id: string; activeLeaf: { id: string } } } };

/** Imports a conversation of `messages` (ids local to the document) and returns its id and its active leaf. */
async function importTree(p: TestParley, key: string, messages: { id: string; parentId: string | null }[], activeLeafId: string) {
  const data = { version: 1, conversation: { title: 'guardrails', activeLeafId }, messages: messages.map((m, i) => ({ ...m, role: i % 2 ? 'ASSISTANT' : 'USER', content: `m${i}` })) };
  return ok(await p.gql<Imported>(IMPORT, { input: { format: 'PARLEY', data } }, key)).importConversation.conversation;
}

const refusal = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions;

describe('documents refused before they run, over HTTP', () => {
  let h: Harness;
  let rootId: string;

  beforeAll(async () => {
    h = await startHarness();
    // A root with 100 replies, as importConversation builds it.
    const messages = [{ id: 'root', parentId: null }, ...Array.from({ length: 100 }, (_, i) => ({ id: `c${i}`, parentId: 'root' }))];
    const conversation = await importTree(h.p, h.key, messages, 'c99');
    const root = await h.p.gql<{ message: { parent: { id: string } } }>('query($id: ID!) { message(id: $id) { parent { id } } }', { id: conversation.activeLeaf.id }, h.key);
    rootId = ok(root).message.parent.id;
  });
  afterAll(() => h?.stop());

  it('lists at most 100 replies, as the cost counts them, and counts every sibling', async () => {
    const messages = [{ id: 'root', parentId: null }, ...Array.from({ length: 101 }, (_, i) => ({ id: `w${i}`, parentId: 'root' }))];
    const wide = await importTree(h.p, h.key, messages, 'w100');
    const res = await h.p.gql<{ message: { siblings: unknown[]; siblingCount: number; siblingIndex: number; parent: { children: unknown[] } } }>(
      'query($id: ID!) { message(id: $id) { siblings { id } siblingCount siblingIndex parent { children { id } } } }', { id: wide.activeLeaf.id }, h.key);
    expect(ok(res).message).toMatchObject({ siblingCount: 101, siblingIndex: 100 });
    expect(ok(res).message.siblings).toHaveLength(100);
    expect(ok(res).message.parent.children).toHaveLength(100);
  });

  it('refuses the 150-byte children/parent cycle over a 100-child tree by its cost', async () => {
    const query = `{message(id:"${rootId}"){${'children{parent{'.repeat(4)}id${'}}'.repeat(4)}}}`;
    expect(query.length).toBeLessThanOrEqual(150);
    const res = await h.p.gql(query, undefined, h.key);
    expect(res.data).toBeUndefined(); // refused before execution: no data at all
    expect(refusal(res)).toEqual({ code: 'QUERY_TOO_COMPLEX', cost: expect.any(Number), maxCost: 50_000 });
    expect(refusal(res)!.cost).toBeGreaterThan(100 ** 4);
  });

  it('refuses a 2.5 KB document nesting messages, children and parent 40 levels deep by its depth', async () => {
    const level = (i: number) => (i % 2 ? 'parent' : 'children');
    const inner = Array.from({ length: 36 }, (_, i) => `${level(i)} { id role content reasoning status model createdAt `).join('');
    const query = `query($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node { ${inner} id ${'} '.repeat(36)}} } } } }`;
    expect(query.length).toBeGreaterThan(2_000);
    expect(query.length).toBeLessThan(3_000);
    const res = await h.p.gql(query, { id: rootId }, h.key);
    expect(res.data).toBeUndefined();
    expect(refusal(res)).toEqual({ code: 'QUERY_TOO_COMPLEX', depth: 41, maxDepth: 15 });
  });

  it('refuses a document nested as deep as the token limit allows by its depth, without overflowing a stack', async () => {
    const levels = 1_600; // 3 tokens a level: just under the 5 000-token limit
    const res = await h.p.gql(`{ message(id: "${rootId}") { ${'parent { '.repeat(levels)}id${' }'.repeat(levels)} } }`, undefined, h.key);
    expect(refusal(res)).toEqual({ code: 'QUERY_TOO_COMPLEX', depth: levels + 2, maxDepth: 15 });
  });

  it('refuses 1 000 aliases of searchMessages (past the token limit), and 100 (past the alias limit)', async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `s${i}: searchMessages(query: "x") { edges { node { snippet } } }`).join(' ')} }`;
    const thousand = await h.p.gql(aliases(1_000), undefined, h.key);
    expect(thousand.data).toBeUndefined();
    expect(refusal(thousand)).toEqual({ code: 'QUERY_TOO_COMPLEX', maxTokens: 5_000 });
    const hundred = await h.p.gql(aliases(100), undefined, h.key);
    expect(hundred.data).toBeUndefined();
    expect(refusal(hundred)).toEqual({ code: 'QUERY_TOO_COMPLEX', aliases: 100, maxAliases: 30 });
  });

  it('refuses an anonymous document of 200 000 directives while parsing it', async () => {
    const res = await fetch(h.p.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ viewer ${'@include(if: true) '.repeat(200_000)}{ id } }` }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as GqlResult;
    expect(body.errors).toEqual([{ message: 'The document has more than 5000 tokens', extensions: { code: 'QUERY_TOO_COMPLEX', maxTokens: 5_000 } }]);
  });

  it("runs every SDK query at its costliest variables, and graphql-js's and GraphiQL's introspection", async () => {
    const schema = buildSchema(readFileSync('schema.graphql', 'utf8'));
    const queries = sdkOperations.filter((o) => o.operation.operation === OperationTypeNode.QUERY);
    expect(queries.length).toBeGreaterThan(15);
    for (const { name, document, operation } of queries) {
      const res = await h.p.gql(print(document), worstCaseVariables(schema, operation), h.key);
      // Executed (data present, maybe null for an id that does not exist), never refused.
      expect({ name, executed: res.data !== undefined, codes: res.errors?.map((e) => e.extensions?.code) }).toEqual({
        name,
        executed: true,
        codes: res.errors ? expect.not.arrayContaining(['QUERY_TOO_COMPLEX']) : undefined,
      });
    }
    const everything = { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true };
    for (const query of [getIntrospectionQuery(), getIntrospectionQuery(everything)]) {
      const res = await h.p.gql<{ __schema: { queryType: { name: string } } }>(query, undefined, h.key);
      expect(res.errors).toBeUndefined();
      expect(res.data?.__schema.queryType.name).toBe('Query');
    }
  });

  it('answers a batch (a JSON array body) with a GraphQL-shaped 400', async () => {
    const res = await fetch(h.p.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.key}` },
      body: JSON.stringify([{ query: '{ viewer { id } }' }, { query: '{ viewer { id } }' }]),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as GqlResult).errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
  });

  it('refuses one too-deep subscription of a socket while the socket and its other subscription carry on', async () => {
    // The upstream streams two chunks, then holds the run IN_PROGRESS until it is cancelled.
    h.fake.enqueue({ kind: 'hang', afterChunks: 2, text: ['Hel', 'lo', ' world'] });
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'hi');
    const client = h.p.ws(h.key);
    const events: string[] = [];
    let tokenSeen!: () => void;
    const streaming = new Promise<void>((resolve) => (tokenSeen = resolve));
    const finished = new Promise<void>((resolve, reject) => {
      client.subscribe<RunEventsData>({ query: RUN_EVENTS, variables: { runId: run.id, after: 0 } }, {
        next: (v) => {
          if (v.errors) return reject(new Error(JSON.stringify(v.errors)));
          events.push(v.data!.runEvents.__typename);
          if (v.data!.runEvents.__typename === 'TokenDelta') tokenSeen();
        },
        error: reject,
        complete: resolve,
      });
    });
    await streaming;

    const subscribeOnce = (query: string) =>
      new Promise<unknown>((resolve) => {
        client.subscribe({ query, variables: { id: conversationId } }, { next: resolve, error: resolve, complete: () => resolve('complete') });
      });
    const deep = `subscription($id: ID!) { conversationEvents(conversationId: $id) { message { ${'parent { '.repeat(16)}id${' }'.repeat(16)} } } }`;
    expect(await subscribeOnce(deep)).toEqual([expect.objectContaining({ extensions: { code: 'QUERY_TOO_COMPLEX', depth: 19, maxDepth: 15 } })]);
    // A malformed document is that operation's error too, not the socket's end.
    expect(await subscribeOnce('subscription { conversationEvents(')).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);

    const streamedBefore = events.length;
    ok(await h.p.gql('mutation($input: CancelRunInput!) { cancelRun(input: $input) { run { id } } }', { input: { runId: run.id } }, h.key));
    await finished;
    expect(events.length).toBeGreaterThan(streamedBefore);
    expect(events.at(-1)).toBe('RunCancelled');
  });
});

/** Log lines of a node, as objects, with a way to wait for one. */
function logCapture() {
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      for (const w of waiters) w();
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, stream),
    waitFor: (pred: (line: Record<string, unknown>) => boolean) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const check = () => {
          const line = lines.find(pred);
          if (!line) return;
          waiters.delete(check);
          resolve(line);
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Waits for a condition the test can observe (no fixed sleep stands in for it). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 5_000) throw new Error('condition never met');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('operations that run too long or lose their client', () => {
  // Cost and depth limits out of the way, so a slow operation can start at all.
  const UNLIMITED = { PARLEY_MAX_QUERY_DEPTH: '100000', PARLEY_MAX_QUERY_TOKENS: '1000000', PARLEY_MAX_QUERY_COST: '1000000000' };
  const CHAIN = 1_000;
  const logs = logCapture();
  let patient: TestParley;
  let hasty: TestParley;
  let key: string;
  let leafId: string;
  /** Walks the chain from its leaf, one `parent` (one SQL round trip) per level: seconds of work that yields between levels. */
  const walk = `query($id: ID!) { message(id: $id) { ${'parent { '.repeat(CHAIN - 1)}id${' }'.repeat(CHAIN - 1)} } }`;
  const parentLoads = (queries: string[]) => queries.filter((q) => /from "?messages"?\b/.test(q)).length;

  beforeAll(async () => {
    // The default 30 s deadline; and a second node on the same database with a 300 ms one.
    patient = await startTestParley({ countQueries: true, logger: logs.logger, env: UNLIMITED });
    hasty = await startTestParley({ databaseUrl: patient.databaseUrl, countQueries: true, env: { ...UNLIMITED, PARLEY_OPERATION_TIMEOUT_MS: '300' } });
    key = (await patient.newUser()).apiKey;
    const messages = Array.from({ length: CHAIN }, (_, i) => ({ id: `m${i}`, parentId: i ? `m${i - 1}` : null }));
    leafId = (await importTree(patient, key, messages, `m${CHAIN - 1}`)).activeLeaf.id;
  });
  afterAll(async () => {
    await hasty?.stop();
    await patient?.stop();
  });

  it('stops an operation at its deadline with one OPERATION_TIMEOUT, and /healthz answers meanwhile', async () => {
    const order: string[] = [];
    hasty.queries.length = 0;
    const walking = hasty.gql(walk, { id: leafId }, key).then((res) => (order.push('walk'), res));
    await until(() => parentLoads(hasty.queries) > 10); // the walk is under way
    const health = await fetch(hasty.url.replace('/graphql', '/healthz'));
    order.push('healthz');
    expect(health.status).toBe(200);
    const res = await walking;
    expect(order).toEqual(['healthz', 'walk']);
    expect(res.errors).toEqual([{ message: 'The operation ran longer than 300 ms and was stopped', extensions: { code: 'OPERATION_TIMEOUT', timeoutMs: 300 } }]);
    expect(parentLoads(hasty.queries)).toBeLessThan(CHAIN - 1);
  });

  it('stops an operation whose HTTP client went away', async () => {
    patient.queries.length = 0;
    const client = new AbortController();
    const request = fetch(patient.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: walk, variables: { id: leafId } }),
      signal: client.signal,
    }).catch((err: unknown) => err);
    await until(() => parentLoads(patient.queries) > 10);
    client.abort();
    expect(await request).toMatchObject({ name: 'AbortError' });
    const stopped = await logs.waitFor((l) => l.msg === 'operation stopped');
    expect(stopped).toMatchObject({ code: 'OPERATION_CANCELLED' });
    // Logged once the stopped execution had returned: it never walked the rest of the chain.
    expect(parentLoads(patient.queries)).toBeLessThan(CHAIN - 1);
  });
});
