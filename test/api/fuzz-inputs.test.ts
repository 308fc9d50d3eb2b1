import type { Client } from 'graphql-ws';
import { collect, startTestParley, type GqlResult, type TestParley } from '../support/parley';

/**
 * Inputs a fuzzer sends: every one must answer a client error code (the
 * request was wrong), never INTERNAL_SERVER_ERROR. Each row is one request;
 * `$conversation`, `$message` and `$run` in its variables are filled with ids
 * of things the caller owns, so the input (not a missing row) is what is tested.
 */
const CLIENT_CODES = ['BAD_USER_INPUT', 'NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED', 'CONFLICT', 'QUERY_TOO_COMPLEX', 'RATE_LIMITED'];

const notClientErrors = (res: GqlResult<unknown>) => (res.errors ?? []).filter((e) => !CLIENT_CODES.includes(String(e.extensions?.code)));

const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const NUL = 'a\u0000b';
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Cursors that decode (base64 JSON with the right kind tag) but hold the wrong shape, and some that do not decode. */
function wrongCursors(kind: string): [string, string][] {
  return [
    [`${kind} number`, cursor([kind, 5])],
    [`${kind} float`, cursor([kind, 1.5])],
    [`${kind} negative`, cursor([kind, -1])],
    [`${kind} huge`, cursor([kind, 1e308])],
    [`${kind} null`, cursor([kind, null])],
    [`${kind} object`, cursor([kind, { a: 1 }])],
    [`${kind} string`, cursor([kind, 'x'])],
    [`${kind} NUL string`, cursor([kind, NUL])],
    [`${kind} short tuple`, cursor([kind, [1]])],
    [`${kind} wrong tuple`, cursor([kind, [{}, [], null]])],
    [`${kind} tuple of strings`, cursor([kind, ['x', 'y', 'z']])],
    [`${kind} bad timestamp`, cursor([kind, ['2024-13-45 99:99:99+00', ZERO_UUID]])],
    [`${kind} scored bad timestamp`, cursor([kind, [1, '2024-13-45 99:99:99+00', ZERO_UUID]])],
    [`${kind} NaN rank`, cursor([kind, ['NaN', '2024-01-01 00:00:00+00', ZERO_UUID]])],
    [`${kind} extra element`, cursor([kind, 5, 6])],
    [`${kind} not base64`, '!!!'],
    [`${kind} empty`, ''],
    [`${kind} NUL`, NUL],
  ];
}

interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
}

const CONNECTIONS: { name: string; kinds: string[]; query: (after: string) => Case }[] = [
  { name: 'agents', kinds: ['agent'], query: () => ({ name: '', query: 'query($a: String) { agents(after: $a) { edges { cursor } } }' }) },
  {
    name: 'conversations',
    kinds: ['conversations'],
    query: () => ({ name: '', query: 'query($a: String) { conversations(after: $a) { edges { cursor } } }' }),
  },
  {
    name: 'conversations search',
    kinds: ['conversationSearch'],
    query: () => ({ name: '', query: 'query($a: String) { conversations(after: $a, filter: { search: "hello" }) { edges { cursor } } }' }),
  },
  {
    name: 'searchMessages',
    kinds: ['messageSearch'],
    query: () => ({ name: '', query: 'query($a: String) { searchMessages(query: "hello", after: $a) { edges { cursor } } }' }),
  },
  {
    name: 'messages',
    kinds: ['path'],
    query: () => ({ name: '', query: 'query($c: ID!, $a: String) { conversation(id: $c) { messages(after: $a) { edges { cursor } } } }' }),
  },
  {
    name: 'branches',
    kinds: ['branches'],
    query: () => ({ name: '', query: 'query($c: ID!, $a: String) { conversation(id: $c) { branches(after: $a) { edges { cursor } } } }' }),
  },
  {
    name: 'tree',
    kinds: ['tree'],
    query: () => ({ name: '', query: 'query($c: ID!, $a: String) { conversation(id: $c) { tree(after: $a) { edges { cursor } } } }' }),
  },
];

const cursorCases: Case[] = CONNECTIONS.flatMap((c) =>
  c.kinds.flatMap((kind) =>
    wrongCursors(kind).map(([label, after]) => ({ ...c.query(after), name: `${c.name} after: ${label}`, variables: { c: '$conversation', a: after } })),
  ),
);

const pageCases: Case[] = [
  ['agents', 'query($f: Int) { agents(first: $f) { edges { cursor } } }'],
  ['conversations', 'query($f: Int) { conversations(first: $f) { edges { cursor } } }'],
  ['searchMessages', 'query($f: Int) { searchMessages(query: "x", first: $f) { edges { cursor } } }'],
  ['messages', 'query($c: ID!, $f: Int) { conversation(id: $c) { messages(first: $f) { edges { cursor } } } }'],
  ['branches', 'query($c: ID!, $f: Int) { conversation(id: $c) { branches(first: $f) { edges { cursor } } } }'],
  ['tree', 'query($c: ID!, $f: Int) { conversation(id: $c) { tree(first: $f) { edges { cursor } } } }'],
].flatMap(([name, query]) =>
  [2147483647, -1, 0, -2147483648].map((first) => ({ name: `${name} first: ${first}`, query, variables: { c: '$conversation', f: first } })),
);

const REPORT = 'query($i: UsageReportInput!) { usageReport(input: $i) { totals { totalTokens } } }';
const TOOL_REPORT = 'query($i: ReportRangeInput!) { toolUsageReport(input: $i) { tools { name } } }';
const LATENCY = 'query($i: LatencyReportInput!) { latencyReport(input: $i) { groups { key } } }';
const dateCases: Case[] = [
  ['0000-01-01T00:00:00Z', '0000-01-02T00:00:00Z'],
  ['-271821-04-20T00:00:00Z', '-271821-04-21T00:00:00Z'],
  ['275760-09-12T00:00:00Z', '275760-09-13T00:00:00Z'],
  ['9999-12-31T00:00:00Z', '9999-12-31T23:59:59Z'],
  ['1969-12-31T00:00:00Z', '1970-01-01T00:00:00Z'],
  ['not a date', '2024-01-01T00:00:00Z'],
].flatMap(([from, to]) => [
  { name: `usageReport from ${from}`, query: REPORT, variables: { i: { from, to, groupBy: 'DAY' } } },
  { name: `toolUsageReport from ${from}`, query: TOOL_REPORT, variables: { i: { from, to } } },
  { name: `latencyReport from ${from}`, query: LATENCY, variables: { i: { from, to, groupBy: 'MODEL' } } },
  {
    name: `conversations filter from ${from}`,
    query: 'query($f: ConversationFilter) { conversations(filter: $f) { edges { cursor } } }',
    variables: { f: { from, to } },
  },
]);

const m = (field: string, type: string, selection = '__typename') => `mutation($i: ${type}!) { ${field}(input: $i) { ${selection} } }`;
const nulCases: Case[] = [
  { name: 'createConversation tags NUL', query: m('createConversation', 'CreateConversationInput'), variables: { i: { title: 't', tags: [NUL] } } },
  { name: 'createConversation title NUL', query: m('createConversation', 'CreateConversationInput'), variables: { i: { title: NUL } } },
  {
    name: 'createConversation systemPrompt NUL',
    query: m('createConversation', 'CreateConversationInput'),
    variables: { i: { settings: { systemPrompt: NUL } } },
  },
  { name: 'createConversation model NUL', query: m('createConversation', 'CreateConversationInput'), variables: { i: { settings: { model: NUL } } } },
  { name: 'updateConversation addTags NUL', query: m('updateConversation', 'UpdateConversationInput'), variables: { i: { conversationId: '$conversation', addTags: [NUL] } } },
  { name: 'updateConversation removeTags NUL', query: m('updateConversation', 'UpdateConversationInput'), variables: { i: { conversationId: '$conversation', removeTags: [NUL] } } },
  { name: 'updateConversation tags NUL', query: m('updateConversation', 'UpdateConversationInput'), variables: { i: { conversationId: '$conversation', tags: [NUL] } } },
  { name: 'updateConversation title NUL', query: m('updateConversation', 'UpdateConversationInput'), variables: { i: { conversationId: '$conversation', title: NUL } } },
  { name: 'conversations filter tag NUL', query: 'query($f: ConversationFilter) { conversations(filter: $f) { edges { cursor } } }', variables: { f: { tag: NUL } } },
  { name: 'conversations filter model NUL', query: 'query($f: ConversationFilter) { conversations(filter: $f) { edges { cursor } } }', variables: { f: { model: NUL } } },
  { name: 'conversations filter search NUL', query: 'query($f: ConversationFilter) { conversations(filter: $f) { edges { cursor } } }', variables: { f: { search: NUL } } },
  { name: 'searchMessages query NUL', query: 'query($q: String!) { searchMessages(query: $q) { edges { cursor } } }', variables: { q: NUL } },
  { name: 'appendMessage content NUL', query: m('appendMessage', 'AppendMessageInput'), variables: { i: { conversationId: '$conversation', role: 'USER', content: NUL } } },
  {
    name: 'appendMessage reasoning NUL',
    query: m('appendMessage', 'AppendMessageInput'),
    variables: { i: { conversationId: '$conversation', role: 'ASSISTANT', content: 'x', reasoning: NUL } },
  },
  {
    name: 'appendMessage toolCalls NUL',
    query: m('appendMessage', 'AppendMessageInput'),
    variables: { i: { conversationId: '$conversation', role: 'ASSISTANT', content: 'x', toolCalls: [{ id: NUL, name: NUL, arguments: NUL }] } },
  },
  { name: 'appendMessage model NUL', query: m('appendMessage', 'AppendMessageInput'), variables: { i: { conversationId: '$conversation', role: 'ASSISTANT', content: 'x', model: NUL } } },
  { name: 'sendMessage content NUL', query: m('sendMessage', 'SendMessageInput'), variables: { i: { conversationId: '$conversation', content: NUL } } },
  { name: 'sendMessage model NUL', query: m('sendMessage', 'SendMessageInput'), variables: { i: { conversationId: '$conversation', content: 'x', model: NUL } } },
  {
    name: 'sendMessage tools NUL',
    query: m('sendMessage', 'SendMessageInput'),
    variables: { i: { conversationId: '$conversation', content: 'x', settings: { tools: [NUL] } } },
  },
  {
    name: 'sendMessage client tool NUL',
    query: m('sendMessage', 'SendMessageInput'),
    variables: { i: { conversationId: '$conversation', content: 'x', settings: { clientTools: [{ name: NUL, description: NUL, parameters: { type: 'object', d: NUL } }] } } },
  },
  { name: 'editMessage content NUL', query: m('editMessage', 'EditMessageInput'), variables: { i: { messageId: '$message', content: NUL } } },
  { name: 'forkConversation title NUL', query: m('forkConversation', 'ForkConversationInput'), variables: { i: { messageId: '$message', mode: 'BRANCH', title: NUL } } },
  { name: 'createAgent name NUL', query: m('createAgent', 'CreateAgentInput'), variables: { i: { name: NUL, model: 'demo/demo' } } },
  { name: 'createAgent instructions NUL', query: m('createAgent', 'CreateAgentInput'), variables: { i: { name: 'a', model: 'demo/demo', instructions: NUL } } },
  { name: 'createAgent description NUL', query: m('createAgent', 'CreateAgentInput'), variables: { i: { name: 'a', model: 'demo/demo', description: NUL } } },
  { name: 'createAgent model NUL', query: m('createAgent', 'CreateAgentInput'), variables: { i: { name: 'a', model: NUL } } },
  { name: 'createAgent tools NUL', query: m('createAgent', 'CreateAgentInput'), variables: { i: { name: 'a', model: 'demo/demo', tools: [NUL] } } },
  { name: 'createApiKey name NUL', query: m('createApiKey', 'CreateApiKeyInput'), variables: { i: { name: NUL } } },
  { name: 'createUser email NUL', query: m('createUser', 'CreateUserInput'), variables: { i: { email: `a${NUL}@example.com` } } },
  {
    name: 'importConversation NUL',
    query: m('importConversation', 'ImportConversationInput'),
    variables: { i: { format: 'OPENAI_MESSAGES', title: NUL, data: [{ role: 'user', content: NUL }] } },
  },
  { name: 'compareModels models NUL', query: m('compareModels', 'CompareModelsInput'), variables: { i: { conversationId: '$conversation', parentId: '$message', models: [NUL] } } },
  { name: 'previewContext model NUL', query: 'query($c: ID!, $m: String) { previewContext(conversationId: $c, model: $m) { model } }', variables: { c: '$conversation', m: NUL } },
];

const idCases: Case[] = ['', ' ', NUL, 'x'.repeat(10_000), '00000000-0000-0000-0000-00000000000g', '1'].flatMap((id, n) => [
  { name: `conversation(id) #${n}`, query: 'query($id: ID!) { conversation(id: $id) { id } }', variables: { id } },
  { name: `message(id) #${n}`, query: 'query($id: ID!) { message(id: $id) { id } }', variables: { id } },
  { name: `run(id) #${n}`, query: 'query($id: ID!) { run(id: $id) { id } }', variables: { id } },
  { name: `agent(id) #${n}`, query: 'query($id: ID!) { agent(id: $id) { id } }', variables: { id } },
  { name: `comparison(id) #${n}`, query: 'query($id: ID!) { comparison(id: $id) { id } }', variables: { id } },
  { name: `exportConversation(id) #${n}`, query: 'query($id: ID!) { exportConversation(id: $id) }', variables: { id } },
  { name: `messages(leafId) #${n}`, query: 'query($c: ID!, $id: ID) { conversation(id: $c) { messages(leafId: $id) { edges { cursor } } } }', variables: { c: '$conversation', id } },
  { name: `cancelRun #${n}`, query: m('cancelRun', 'CancelRunInput'), variables: { i: { runId: id } } },
  { name: `revokeApiKey #${n}`, query: m('revokeApiKey', 'RevokeApiKeyInput'), variables: { i: { apiKeyId: id } } },
  { name: `sendMessage parentId #${n}`, query: m('sendMessage', 'SendMessageInput'), variables: { i: { conversationId: '$conversation', parentId: id, content: 'x' } } },
  { name: `createApiKey userId #${n}`, query: m('createApiKey', 'CreateApiKeyInput'), variables: { i: { name: 'k', userId: id } } },
]);

const numberCases: Case[] = [
  { name: 'createAgent runTimeoutMs max', query: m('createAgent', 'CreateAgentInput'), variables: { i: { name: 'a', model: 'demo/demo', runTimeoutMs: 2147483647 } } },
  { name: 'createAgent runTimeoutMs negative', query: m('createAgent', 'CreateAgentInput'), variables: { i: { name: 'a', model: 'demo/demo', runTimeoutMs: -1 } } },
  { name: 'createAgent temperature huge', query: m('createAgent', 'CreateAgentInput'), variables: { i: { name: 'a', model: 'demo/demo', temperature: 1e308 } } },
  {
    name: 'sendMessage maxTokens max',
    query: m('sendMessage', 'SendMessageInput'),
    variables: { i: { conversationId: '$conversation', content: 'x', settings: { maxTokens: 2147483647, maxSteps: 2147483647, timeoutMs: 2147483647 } } },
  },
  {
    name: 'sendMessage negatives',
    query: m('sendMessage', 'SendMessageInput'),
    variables: { i: { conversationId: '$conversation', content: 'x', settings: { maxTokens: -1, maxSteps: -1, timeoutMs: -1 } } },
  },
  {
    name: 'updateConversation expectedVersion min',
    query: m('updateConversation', 'UpdateConversationInput'),
    variables: { i: { conversationId: '$conversation', expectedVersion: -2147483648 } },
  },
  { name: 'conversations minCost huge', query: 'query($f: ConversationFilter) { conversations(filter: $f) { edges { cursor } } }', variables: { f: { minCost: 1e308 } } },
  { name: 'Int overflow', query: 'query { agents(first: 2147483648) { edges { cursor } } }' },
];

const transportCases: Case[] = [
  { name: 'subscription over HTTP POST', query: 'subscription($r: ID!) { runEvents(runId: $r) { seq } }', variables: { r: '$run' } },
  { name: 'conversation subscription over HTTP POST', query: 'subscription($c: ID!) { conversationEvents(conversationId: $c) { type } }', variables: { c: '$conversation' } },
  { name: 'empty document', query: '' },
  { name: 'NUL in document', query: `query { viewer { id } }${NUL}` },
  { name: 'unknown operation name', query: 'query A { viewer { id } }' },
];

const CASES: Case[] = [...cursorCases, ...pageCases, ...dateCases, ...nulCases, ...idCases, ...numberCases, ...transportCases];

/**
 * A conversation subscription kept open beside the operation under test.
 * `nextEvent(cause)` retries `cause` until an event arrives: the first one
 * proves the subscription is live without guessing how long set-up takes.
 */
function watch(client: Client, conversationId: string) {
  const events: string[] = [];
  let ended: unknown;
  const stop = client.subscribe<{ conversationEvents: { type: string } }>(
    { query: 'subscription($c: ID!) { conversationEvents(conversationId: $c) { type } }', variables: { c: conversationId } },
    {
      next: (v) => events.push(v.data?.conversationEvents.type ?? JSON.stringify(v.errors)),
      error: (err) => (ended = err ?? 'error'),
      complete: () => (ended ??= 'complete'),
    },
  );
  return {
    stop,
    async nextEvent(cause: () => Promise<void>): Promise<string> {
      const seen = events.length;
      for (let attempt = 0; attempt < 200; attempt++) {
        if (ended !== undefined) throw new Error(`the live subscription ended: ${JSON.stringify(ended)}`);
        await cause();
        for (let tick = 0; tick < 5 && events.length === seen; tick++) await new Promise((r) => setImmediate(r));
        if (events.length > seen) return events[seen];
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('no event on the live subscription');
    },
  };
}

describe('fuzzer inputs answer a client error code, never INTERNAL_SERVER_ERROR', () => {
  let p: TestParley;
  let key: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    p = await startTestParley();
    key = (await p.newUser()).apiKey;
    const sent = await p.gql<{ sendMessage: { message: { id: string; conversation: { id: string } }; run: { id: string } } }>(
      `mutation($c: ID!) { sendMessage(input: { conversationId: $c, content: "hello" }) { message { id conversation { id } } run { id } } }`,
      {
        c: (await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "fuzz" }) { conversation { id } } }', {}, key))
          .data!.createConversation.conversation.id,
      },
      key,
    );
    ids.$conversation = sent.data!.sendMessage.message.conversation.id;
    ids.$message = sent.data!.sendMessage.message.id;
    ids.$run = sent.data!.sendMessage.run.id;
  }, 60_000);
  afterAll(async () => p?.stop());

  const rename = async (title: string) => {
    await p.gql('mutation($i: UpdateConversationInput!) { updateConversation(input: $i) { __typename } }', { i: { conversationId: ids.$conversation, title } }, key);
  };

  const fill = (v: unknown): unknown =>
    typeof v === 'string' && v in ids ? ids[v] : Array.isArray(v) ? v.map(fill) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)])) : v;

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await p.gql(c.query, fill(c.variables ?? {}) as Record<string, unknown>, key);
    // Some inputs are fine after all (an empty range, a page past the end): then there is nothing to report.
    expect(notClientErrors(res)).toEqual([]);
  });

  it.each([
    ['runEvents(after: 1.5)', 'subscription($r: ID!) { runEvents(runId: $r, after: 1.5) { seq } }', {}],
    ['runEvents(after: -1)', 'subscription($r: ID!, $a: Int) { runEvents(runId: $r, after: $a) { seq } }', { a: -1 }],
    ['runEvents(after: max)', 'subscription($r: ID!, $a: Int) { runEvents(runId: $r, after: $a) { seq } }', { a: 2147483647 }],
    ['runEvents(runId: "")', 'subscription { runEvents(runId: "") { seq } }', {}],
    ['runEvents(runId: NUL)', 'subscription($n: ID!) { runEvents(runId: $n) { seq } }', { n: NUL }],
    ['conversationEvents(conversationId: NUL)', 'subscription($n: ID!) { conversationEvents(conversationId: $n) { type } }', { n: NUL }],
    ['syntax error', 'subscription { runEvents(', {}],
  ])('over graphql-ws: %s is an error for that operation only', async (_name, query, variables) => {
    const client = p.ws(key);
    // A live subscription on the same socket must outlive the bad one: it is seen working before and after.
    const live = watch(client, ids.$conversation);
    await live.nextEvent(() => rename(`before ${_name}`));
    // Read to its end (error or complete): a client that unsubscribes from an operation the server is
    // completing at that moment ends its other subscriptions locally (graphql-ws client 6).
    const bad = await collect<unknown>(client, query, { r: ids.$run, ...variables }, () => false);
    expect(bad.flatMap(notClientErrors)).toEqual([]);
    expect(await live.nextEvent(() => rename(`after ${_name}`))).toBe('CONVERSATION_UPDATED');
    live.stop();
  });
});
