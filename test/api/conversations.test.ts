import { startTestParley, type TestParley } from '../support/parley';

const CREATE = `mutation($input: CreateConversationInput!) { createConversation(input: $input) { conversation { id title tags version settings { model temperature } } } }`;
const UPDATE = `mutation($input: UpdateConversationInput!) { updateConversation(input: $input) { conversation { id title tags version archivedAt } } }`;
const DELETE = `mutation($id: ID!) { deleteConversation(input: { conversationId: $id }) { deletedConversationId } }`;
const LIST = `query($first: Int, $after: String, $filter: ConversationFilter) {
  conversations(first: $first, after: $after, filter: $filter) { edges { cursor node { id title } } pageInfo { hasNextPage endCursor } } }`;

type Conv = { id: string; title: string; tags: string[]; version: number };

describe('conversations', () => {
  let p: TestParley;
  let alice: { id: string; apiKey: string };
  let bob: { id: string; apiKey: string };
  const create = async (input: Record<string, unknown>, key = alice.apiKey) =>
    (await p.gql<{ createConversation: { conversation: Conv } }>(CREATE, { input }, key)).data!.createConversation.conversation;

  beforeAll(async () => {
    p = await startTestParley();
    alice = await p.newUser('alice@example.com');
    bob = await p.newUser('bob@example.com');
  });
  afterAll(() => p.stop());

  it('creates, reads, updates tags and settings', async () => {
    const c = await create({ title: 'Plans', tags: ['Work', 'work', ' q3 '], settings: { model: 'demo/demo', temperature: 0.3 } });
    expect(c).toMatchObject({ title: 'Plans', tags: ['work', 'q3'], version: 1 });
    const u = await p.gql<{ updateConversation: { conversation: Conv } }>(
      UPDATE,
      { input: { conversationId: c.id, title: 'Plans v2', addTags: ['urgent'], removeTags: ['q3'] } },
      alice.apiKey,
    );
    expect(u.data?.updateConversation.conversation).toMatchObject({ title: 'Plans v2', tags: ['work', 'urgent'], version: 2 });
  });

  it('paginates with cursors and filters by tag, archive state and title', async () => {
    const user = await p.newUser();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await create({ title: `Chat ${i}`, tags: i % 2 ? ['odd'] : [] }, user.apiKey)).id);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: { data?: { conversations: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } | null } =
        await p.gql(LIST, { first: 3, after }, user.apiKey);
      const page = res.data!.conversations;
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    const odd = await p.gql<{ conversations: { edges: unknown[] } }>(LIST, { filter: { tag: 'odd' } }, user.apiKey);
    expect(odd.data?.conversations.edges).toHaveLength(3);
    await p.gql(UPDATE, { input: { conversationId: ids[0], archived: true } }, user.apiKey);
    const active = await p.gql<{ conversations: { edges: unknown[] } }>(LIST, {}, user.apiKey);
    expect(active.data?.conversations.edges).toHaveLength(6);
    const archived = await p.gql<{ conversations: { edges: { node: { id: string } }[] } }>(LIST, { filter: { archived: true } }, user.apiKey);
    expect(archived.data?.conversations.edges.map((e) => e.node.id)).toEqual([ids[0]]);
    const search = await p.gql<{ conversations: { edges: { node: { title: string } }[] } }>(LIST, { filter: { search: 'chat 5' } }, user.apiKey);
    expect(search.data?.conversations.edges.map((e) => e.node.title)).toEqual(['Chat 5']);
  });

  it("answers NOT_FOUND for another user's conversation, exactly like a missing one", async () => {
    const c = await create({ title: 'private' });
    const q = 'query($id: ID!) { conversation(id: $id) { id title } }';
    const theirs = await p.gql(q, { id: c.id }, bob.apiKey);
    const missing = await p.gql(q, { id: '018f0000-0000-7000-8000-000000000000' }, bob.apiKey);
    expect(theirs.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(theirs.errors?.[0].message.replace(c.id, 'X')).toBe(missing.errors?.[0].message.replace('018f0000-0000-7000-8000-000000000000', 'X'));
    const upd = await p.gql(UPDATE, { input: { conversationId: c.id, title: 'hacked' } }, bob.apiKey);
    expect(upd.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const del = await p.gql(DELETE, { id: c.id }, bob.apiKey);
    expect(del.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    // Admins see everything.
    expect((await p.gql(q, { id: c.id })).data).toMatchObject({ conversation: { title: 'private' } });
    const list = await p.gql<{ conversations: { edges: { node: { id: string } }[] } }>(LIST, { first: 100 }, bob.apiKey);
    expect(list.data?.conversations.edges.map((e) => e.node.id)).not.toContain(c.id);
  });

  it('rejects bad input with coded errors and writes nothing', async () => {
    const c = await create({ title: 'keep me' });
    const cases: [string, Record<string, unknown>, string, string?][] = [
      [UPDATE, { input: { conversationId: 'not-a-uuid', title: 'x' } }, 'BAD_USER_INPUT', 'conversationId'],
      [UPDATE, { input: { conversationId: c.id, title: 'x'.repeat(201) } }, 'BAD_USER_INPUT', 'title'],
      [UPDATE, { input: { conversationId: c.id, title: '   ' } }, 'BAD_USER_INPUT', 'title'],
      [UPDATE, { input: { conversationId: c.id, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) } }, 'BAD_USER_INPUT', 'tags'],
      [UPDATE, { input: { conversationId: c.id, settings: { temperature: 9 } } }, 'BAD_USER_INPUT', 'settings.temperature'],
      [UPDATE, { input: { conversationId: c.id, settings: { model: 'no-slash' } } }, 'BAD_USER_INPUT', 'settings.model'],
      [LIST, { first: 10000 }, 'BAD_USER_INPUT', 'first'],
      [LIST, { first: 0 }, 'BAD_USER_INPUT', 'first'],
      [LIST, { after: 'garbage' }, 'BAD_USER_INPUT', 'after'],
      [LIST, { after: Buffer.from(JSON.stringify(['path', 3])).toString('base64url') }, 'BAD_USER_INPUT', 'after'],
      [CREATE, { input: { title: 'x', agentId: '018f0000-0000-7000-8000-000000000000' } }, 'NOT_FOUND'],
    ];
    for (const [query, vars, code, field] of cases) {
      const res = await p.gql(query, vars, alice.apiKey);
      expect({ vars, ext: res.errors?.[0].extensions }).toMatchObject({ vars, ext: { code, ...(field ? { field } : {}) } });
    }
    const still = await p.gql<{ conversation: Conv }>('query($id: ID!) { conversation(id: $id) { id title tags version } }', { id: c.id }, alice.apiKey);
    expect(still.data?.conversation).toMatchObject({ title: 'keep me', tags: [], version: 1 });
  });

  it('deletes once; the second delete is NOT_FOUND', async () => {
    const c = await create({ title: 'temp' });
    expect((await p.gql(DELETE, { id: c.id }, alice.apiKey)).data).toEqual({ deleteConversation: { deletedConversationId: c.id } });
    expect((await p.gql(DELETE, { id: c.id }, alice.apiKey)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('settles concurrent updates of one row: every request answers, conflicts are CONFLICT, no partial write', async () => {
    const c = await create({ title: 'race' });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        p.gql<{ updateConversation: { conversation: Conv } }>(UPDATE, { input: { conversationId: c.id, title: `t${i}`, tags: [`tag${i}`], expectedVersion: 1 } }, alice.apiKey),
      ),
    );
    const ok = results.filter((r) => r.data?.updateConversation);
    const conflicts = results.filter((r) => r.errors?.[0].extensions?.code === 'CONFLICT');
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(7);
    const winner = ok[0].data!.updateConversation.conversation;
    const now = await p.gql<{ conversation: Conv }>('query($id: ID!) { conversation(id: $id) { title tags version } }', { id: c.id }, alice.apiKey);
    // Title and tags come from the same request: no interleaving.
    expect(now.data?.conversation).toEqual({ title: winner.title, tags: [`tag${winner.title.slice(1)}`], version: 2 });

    const free = await Promise.all(
      Array.from({ length: 6 }, (_, i) => p.gql(UPDATE, { input: { conversationId: c.id, title: `free${i}` } }, alice.apiKey)),
    );
    for (const r of free) expect(r.data ?? r.errors?.[0].extensions?.code).toBeTruthy();
    for (const r of free) if (r.errors) expect(r.errors[0].extensions?.code).toBe('CONFLICT');
    expect((await p.gql('{ viewer { id } }', {}, alice.apiKey)).data).toBeTruthy();
  });
});
