import { startTestParley, type TestParley } from '../support/parley';
import { buildTree, failure, newConversation, ok, setUsage, sql, type Spec } from './tree-helpers';

const EXPORT = `query($id: ID!, $format: ConversationFormat, $leafId: ID) { exportConversation(id: $id, format: $format, leafId: $leafId) }`;
const IMPORT = `mutation($input: ImportConversationInput!) { importConversation(input: $input) {
  conversation { id title tags settings { model systemPrompt temperature contextStrategy } activeLeaf { id } } messageCount } }`;
const PATH = `query($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node { role content toolCallId toolCalls { id name arguments } } } } } }`;

type Doc = {
  version: number;
  conversation: { title: string; tags: string[]; settings: Record<string, unknown>; activeLeafId: string | null };
  messages: ({ id: string; parentId: string | null } & Record<string, unknown>)[];
};

/** A logged statement without the logger's colours, prefix and timing. */
// eslint-disable-next-line no-control-regex
const statement = (logged: string) => logged.replace(/\x1b\[[0-9;]*m/g, '').replace(/^\[query\]\s*/, '').replace(/\s*\[took.*$/s, '').trim();

/** The document with ids replaced by positions in it: equal structures compare equal whatever ids they got. */
function canonical(doc: Doc) {
  const position = new Map(doc.messages.map((m, i) => [m.id, i]));
  const at = (id: string | null) => (id === null ? null : position.get(id));
  return {
    ...doc,
    conversation: { ...doc.conversation, activeLeafId: at(doc.conversation.activeLeafId) },
    messages: doc.messages.map((m) => ({ ...m, id: at(m.id), parentId: at(m.parentId) })),
  };
}

const CALLS = [
  { id: 'call_1', name: 'calculator', arguments: '{"expression":"6*7"}' },
  { id: 'call_2', name: 'current_time', arguments: '{}' },
];
/** A tree with tool calls, reasoning, a model, usage, flags and two branches. */
const SHAPE: Spec[] = [
  { name: 'sys', parent: null, role: 'SYSTEM', content: 'Be brief.' },
  { name: 'q', parent: 'sys', content: 'What is 6*7, and what time is it?' },
  // appendMessage wants content; the test empties it below, as a model calling tools leaves it.
  { name: 'call', parent: 'q', role: 'ASSISTANT', content: 'calling', toolCalls: CALLS },
  { name: 't1', parent: 'call', role: 'TOOL', content: '42', toolCallId: 'call_1' },
  { name: 't2', parent: 't1', role: 'TOOL', content: '12:00', toolCallId: 'call_2' },
  { name: 'answer', parent: 't2', role: 'ASSISTANT', content: '42, at noon.' },
  { name: 'alt', parent: 'q', role: 'ASSISTANT', content: 'Forty-two "exactly" \\ \'quoted\' ? $1 — ünïcødé 🚀' },
];

describe('exportConversation and importConversation', () => {
  let p: TestParley;
  let key: string;

  beforeAll(async () => {
    p = await startTestParley({ countQueries: true });
    key = (await p.newUser()).apiKey;
  });
  afterAll(() => p.stop());

  const exportDoc = async <T = Doc>(id: string, format = 'PARLEY', leafId?: string, k = key) =>
    ok(await p.gql<{ exportConversation: T }>(EXPORT, { id, format, leafId }, k)).exportConversation;
  const importDoc = (input: Record<string, unknown>, k = key) =>
    p.gql<{ importConversation: { conversation: { id: string; title: string; tags: string[]; activeLeaf: { id: string } | null }; messageCount: number } }>(
      IMPORT,
      { input },
      k,
    );
  const counts = async () =>
    (await sql<{ c: number; m: number }>(p, 'select (select count(*) from conversations)::int as c, (select count(*) from messages)::int as m'))[0];

  async function richConversation(): Promise<{ id: string; ids: Map<string, string> }> {
    const id = await newConversation(p, key, 'Exported');
    await p.gql(
      `mutation($id: ID!) { updateConversation(input: { conversationId: $id, tags: ["Travel", "math"],
        settings: { model: "demo/demo", systemPrompt: "Be brief.", temperature: 0.3, contextStrategy: PINNED_FIRST } }) { conversation { id } } }`,
      { id },
      key,
    );
    const ids = await buildTree(p, key, id, SHAPE);
    await setUsage(p, ids.get('answer')!, { promptTokens: 120, completionTokens: 7, reasoningTokens: 3, cachedTokens: 64, costUsd: 0.000321 });
    await sql(p, `update messages set model = 'demo/demo', reasoning = 'think', latency_ms = 250, status = 'INCOMPLETE', pinned = true where id = ?`, [ids.get('answer')]);
    await sql(p, 'update messages set excluded = true where id = ?', [ids.get('alt')]);
    await sql(p, `update messages set content = '' where id = ?`, [ids.get('call')]);
    await p.gql('mutation($c: ID!, $m: ID!) { setActiveLeaf(input: { conversationId: $c, messageId: $m }) { conversation { id } } }', { c: id, m: ids.get('answer') }, key);
    return { id, ids };
  }

  it('PARLEY: export → import → export gives the same tree, ids aside', async () => {
    const { id, ids } = await richConversation();
    const first = await exportDoc(id);
    expect(first.version).toBe(1);
    expect(first.conversation).toEqual({
      title: 'Exported',
      tags: ['travel', 'math'],
      settings: { model: 'demo/demo', systemPrompt: 'Be brief.', temperature: 0.3, contextStrategy: 'PINNED_FIRST' },
      activeLeafId: ids.get('answer'),
    });
    expect(first.messages).toHaveLength(SHAPE.length);
    const seen = new Set<string>();
    for (const m of first.messages) {
      if (m.parentId) expect(seen.has(m.parentId)).toBe(true);
      seen.add(m.id);
    }
    expect(first.messages.find((m) => m.id === ids.get('answer'))).toMatchObject({
      role: 'ASSISTANT', model: 'demo/demo', reasoning: 'think', latencyMs: 250, status: 'INCOMPLETE', pinned: true, excluded: false,
      usage: { promptTokens: 120, completionTokens: 7, reasoningTokens: 3, cachedTokens: 64, costUsd: 0.000321 },
    });
    expect(first.messages.find((m) => m.id === ids.get('call'))).toMatchObject({ toolCalls: CALLS, content: '' });

    const imported = ok(await importDoc({ format: 'PARLEY', data: first })).importConversation;
    expect(imported.messageCount).toBe(SHAPE.length);
    expect(imported.conversation.id).not.toBe(id);
    const second = await exportDoc(imported.conversation.id);
    expect(second.messages.map((m) => m.id).some((m) => [...ids.values()].includes(m))).toBe(false);
    expect(canonical(second)).toEqual(canonical(first));
  });

  it('OPENAI_MESSAGES: a branch with tool calls exports as chat messages and imports back as the same path', async () => {
    const { id, ids } = await richConversation();
    const chat = await exportDoc<Record<string, unknown>[]>(id, 'OPENAI_MESSAGES', ids.get('answer'));
    expect(chat).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is 6*7, and what time is it?' },
      { role: 'assistant', content: null, tool_calls: CALLS.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) },
      { role: 'tool', tool_call_id: 'call_1', content: '42' },
      { role: 'tool', tool_call_id: 'call_2', content: '12:00' },
      { role: 'assistant', content: '42, at noon.' },
    ]);
    const imported = ok(await importDoc({ format: 'OPENAI_MESSAGES', data: chat, title: 'From OpenAI' })).importConversation;
    expect(imported).toMatchObject({ messageCount: 6, conversation: { title: 'From OpenAI' } });
    expect(await exportDoc(imported.conversation.id, 'OPENAI_MESSAGES')).toEqual(chat);
    const path = ok(await p.gql<{ conversation: { messages: { edges: { node: Record<string, unknown> }[] } } }>(PATH, { id: imported.conversation.id }, key));
    expect(path.conversation.messages.edges.map((e) => e.node.role)).toEqual(['SYSTEM', 'USER', 'ASSISTANT', 'TOOL', 'TOOL', 'ASSISTANT']);

    // The other branch, by leafId; a request body ({ model, messages }) imports too.
    const alt = await exportDoc<Record<string, unknown>[]>(id, 'OPENAI_MESSAGES', ids.get('alt'));
    expect(alt.at(-1)).toEqual({ role: 'assistant', content: SHAPE.at(-1)!.content });
    const fromBody = ok(await importDoc({ format: 'OPENAI_MESSAGES', data: { model: 'gpt-4o', messages: alt } })).importConversation;
    expect(await exportDoc(fromBody.conversation.id, 'OPENAI_MESSAGES')).toEqual(alt);
  });

  const base = () => ({
    version: 1,
    conversation: { title: 'bad' },
    messages: [
      { id: 'm-1', parentId: null, role: 'USER', content: 'hi' },
      { id: 'm-2', parentId: 'm-1', role: 'ASSISTANT', content: 'hello' },
      { id: 'm-3', parentId: 'm-2', role: 'USER', content: 'more' },
      { id: 'm-4', parentId: 'm-3', role: 'ASSISTANT', content: 'sure' },
    ] as Record<string, unknown>[],
  });
  const broken = (edit: (d: ReturnType<typeof base>) => void) => {
    const d = base();
    edit(d);
    return d;
  };

  it.each([
    ['an unknown parent', broken((d) => (d.messages[2].parentId = 'm-99')), 'messages[2].parentId', /unknown parent "m-99"/],
    ['a cycle', broken((d) => (d.messages[1].parentId = 'm-4')), 'messages[1].parentId', /cycle: "m-2" → "m-4" → "m-3" → "m-2"/],
    ['a self-parent', broken((d) => (d.messages[3].parentId = 'm-4')), 'messages[3].parentId', /cycle/],
    ['a duplicate id', broken((d) => (d.messages[3].id = 'm-2')), 'messages[3].id', /duplicate id "m-2" \(first used by messages\[1\]\)/],
    ['an unknown role', broken((d) => (d.messages[2].role = 'ROBOT')), 'messages[2].role', /unknown value "ROBOT"/],
    ['a TOOL without toolCallId', broken((d) => (d.messages[3].role = 'TOOL')), 'messages[3].toolCallId', /required for TOOL/],
    ['content too long', broken((d) => (d.messages[1].content = 'x'.repeat(100_001))), 'messages[1].content', /at most 100000/],
    ['a missing content', broken((d) => delete d.messages[2].content), 'messages[2].content', /is required/],
    ['an unknown active leaf', broken((d) => Object.assign(d.conversation, { activeLeafId: 'm-9' })), 'conversation.activeLeafId', /m-9/],
    ['a wrong version', broken((d) => (d.version = 2)), 'version', /must be 1/],
    ['the first of two bad nodes', broken((d) => ((d.messages[3].role = 'X'), (d.messages[1].parentId = 'nope'))), 'messages[1].parentId', /unknown/],
  ])('rejects %s, naming the first bad node, and writes nothing', async (_what, data, field, message) => {
    const before = await counts();
    const res = await importDoc({ format: 'PARLEY', data });
    expect(failure(res)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(failure(res).message).toMatch(message);
    expect(await counts()).toEqual(before);
  });

  it.each([
    ['an unknown role', [{ role: 'function', content: 'x' }], 'messages[0].role'],
    ['a tool message without tool_call_id', [{ role: 'user', content: 'a' }, { role: 'tool', content: 'b' }], 'messages[1].tool_call_id'],
    ['an image part', [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }], 'messages[0].content'],
    ['not a list', 'hello', 'data'],
  ])('OPENAI_MESSAGES rejects %s and writes nothing', async (_what, data, field) => {
    const before = await counts();
    expect(failure(await importDoc({ format: 'OPENAI_MESSAGES', data }))).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await counts()).toEqual(before);
  });

  it('imports a 5 000-message tree in one transaction, in chunks of multi-row inserts, within the 5 MB body limit', async () => {
    const messages = Array.from({ length: 5000 }, (_, i) => ({
      id: `n${i}`,
      // A long trunk with a fork every 10 messages: 500 branches.
      parentId: i === 0 ? null : i % 10 === 0 ? `n${i - 5}` : `n${i - 1}`,
      role: i % 2 ? 'ASSISTANT' : 'USER',
      content: `Message number ${i} of the import test, with a little text to make it realistic.`,
      usage: { promptTokens: i, completionTokens: 2 * i, reasoningTokens: 0, cachedTokens: 0, costUsd: i / 1e6 },
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    }));
    const data = { version: 1, conversation: { title: 'big', tags: ['import'] }, messages };
    const body = JSON.stringify({ query: IMPORT, variables: { input: { format: 'PARLEY', data } } });
    expect(Buffer.byteLength(body)).toBeLessThan(5 * 1024 * 1024);

    p.queries.length = 0;
    let started = performance.now();
    const imported = ok(await importDoc({ format: 'PARLEY', data })).importConversation;
    const importMs = performance.now() - started;
    expect(imported.messageCount).toBe(5000);
    const statements = p.queries.map(statement);
    expect(statements.filter((q) => /^with inserted as \( insert into messages/i.test(q))).toHaveLength(5);
    expect(statements.filter((q) => q === 'begin')).toHaveLength(1);
    expect(statements.filter((q) => q === 'commit')).toHaveLength(1);

    started = performance.now();
    const doc = await exportDoc(imported.conversation.id);
    const exportMs = performance.now() - started;
    // Same tree: every exported message has the parent the document gave it (contents are unique).
    const index = new Map(messages.map((m, i) => [m.content, i]));
    const contentOf = new Map(doc.messages.map((m) => [m.id, m.content as string]));
    expect(doc.messages).toHaveLength(5000);
    for (const m of doc.messages) {
      const i = index.get(m.content as string)!;
      expect(m.parentId === null ? null : index.get(contentOf.get(m.parentId)!)).toBe(messages[i].parentId === null ? null : Number(messages[i].parentId.slice(1)));
      expect(m.createdAt).toBe(messages[i].createdAt);
    }

    started = performance.now();
    const branch = await exportDoc<{ content: string }[]>(imported.conversation.id, 'OPENAI_MESSAGES');
    const branchMs = performance.now() - started;
    // The active leaf defaults to the document's last message, at depth 3 003 (each block of ten adds six).
    expect(branch).toHaveLength(3004);
    expect(branch.at(-1)?.content).toBe(messages[4999].content);
    console.log(
      `5000 messages, ${(Buffer.byteLength(body) / 1e6).toFixed(2)} MB: import ${Math.round(importMs)} ms, ` +
        `PARLEY export ${Math.round(exportMs)} ms (${(JSON.stringify(doc).length / 1e6).toFixed(2)} MB), OPENAI_MESSAGES export of a 3004-message branch ${Math.round(branchMs)} ms (over HTTP)`,
    );
  });

  it("another user's conversation is NOT_FOUND; PARLEY takes no leafId", async () => {
    const { id, ids } = await richConversation();
    const stranger = (await p.newUser()).apiKey;
    expect(failure(await p.gql(EXPORT, { id, format: 'PARLEY' }, stranger))).toMatchObject({ code: 'NOT_FOUND' });
    expect(failure(await p.gql(EXPORT, { id, format: 'OPENAI_MESSAGES' }, stranger))).toMatchObject({ code: 'NOT_FOUND' });
    const other = await newConversation(p, key, 'other');
    const otherLeaf = (await buildTree(p, key, other, [{ name: 'x', parent: null }])).get('x');
    expect(failure(await p.gql(EXPORT, { id, format: 'OPENAI_MESSAGES', leafId: otherLeaf }, key))).toMatchObject({ code: 'NOT_FOUND' });
    expect(failure(await p.gql(EXPORT, { id, format: 'PARLEY', leafId: ids.get('answer') }, key))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'leafId',
    });
  });
});
