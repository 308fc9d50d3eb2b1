import { startTestParley, type TestParley } from '../support/parley';
import { append, createAgent, createConversation, insertRun, setMessage, sql } from '../usage/usage-fixtures';

const LIST = `query($first: Int, $after: String, $filter: ConversationFilter) {
  conversations(first: $first, after: $after, filter: $filter) { edges { cursor node { id title } } pageInfo { hasNextPage endCursor } } }`;

type ListData = { conversations: { edges: { node: { id: string; title: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

describe('conversations(filter:): full-text search, model, agent, time range and cost', () => {
  let p: TestParley;
  let alice: { id: string; apiKey: string };
  let bob: { id: string; apiKey: string };
  const c: Record<string, string> = {};
  let agentA: string;
  let agentB: string;

  const list = async (filter: Record<string, unknown>, key = alice.apiKey, first = 50, after?: string | null) => {
    const res = await p.gql<ListData>(LIST, { filter, first, after }, key);
    expect(res.errors).toBeUndefined();
    return res.data!.conversations;
  };
  const titles = async (filter: Record<string, unknown>, key = alice.apiKey) => (await list(filter, key)).edges.map((e) => e.node.title);

  beforeAll(async () => {
    p = await startTestParley();
    alice = await p.newUser();
    bob = await p.newUser();
    agentA = await createAgent(p, alice.apiKey, 'A');
    agentB = await createAgent(p, alice.apiKey, 'B');
    c.title = await createConversation(p, alice.apiKey, { title: 'AboutQuokkaStuff', tags: ['zoo'] });
    c.twice = await createConversation(p, alice.apiKey, { title: 'Trip', agentId: agentA });
    const q = await append(p, alice.apiKey, { conversationId: c.twice, content: 'Where do I see a quokka? Is every quokka friendly?' });
    const a = await append(p, alice.apiKey, { conversationId: c.twice, role: 'ASSISTANT', content: 'On Rottnest Island.', model: 'm/alpha' });
    await setMessage(p, q, { prompt: 0, completion: 0, cost: 0.25 });
    await setMessage(p, a, { prompt: 0, completion: 0, cost: 0.125 });
    c.once = await createConversation(p, alice.apiKey, { title: 'Zoo', tags: ['zoo'] });
    await setMessage(p, await append(p, alice.apiKey, { conversationId: c.once, content: 'I met one quokka at the zoo.' }), { prompt: 0, completion: 0, cost: 0.5 });
    c.onceToo = await createConversation(p, alice.apiKey, { title: 'Park' });
    await append(p, alice.apiKey, { conversationId: c.onceToo, content: 'I met one quokka at the park.' });
    c.plain = await createConversation(p, alice.apiKey, { title: 'Plain' });
    await append(p, alice.apiKey, { conversationId: c.plain, content: 'Nothing to see here.' });
    await insertRun(p, { conversationId: c.plain, ownerId: alice.id, agentId: agentB, model: 'm/beta', createdAt: new Date().toISOString() });
    // Fixed update times, oldest first: the best match (twice) is not the most recent.
    const times: [string, string][] = [
      [c.twice, '2025-01-01T00:00:00Z'],
      [c.title, '2025-02-01T00:00:00Z'],
      [c.once, '2025-03-01T00:00:00Z'],
      [c.onceToo, '2025-04-01T00:00:00Z'],
      [c.plain, '2025-05-01T00:00:00Z'],
    ];
    for (const [id, at] of times) await sql(p, 'update conversations set updated_at = ? where id = ?', [at, id]);
    const bobs = await createConversation(p, bob.apiKey, { title: 'Bob quokka' });
    await append(p, bob.apiKey, { conversationId: bobs, content: 'quokka quokka quokka quokka' });
  });
  afterAll(() => p.stop());

  it('search: message matches ranked best first (then most recent), title-only ILIKE matches last', async () => {
    expect(await titles({ search: 'quokka' })).toEqual(['Trip', 'Park', 'Zoo', 'AboutQuokkaStuff']);
    expect(await titles({ search: 'rottnest' })).toEqual(['Trip']);
    expect(await titles({ search: 'trip' })).toEqual(['Trip']);
    expect(await titles({ search: 'quokka', tag: 'zoo' })).toEqual(['Zoo', 'AboutQuokkaStuff']);
    expect(await titles({ search: '   ' })).toEqual(['Plain', 'Park', 'Zoo', 'AboutQuokkaStuff', 'Trip']);
  });

  it('search pages with cursors in rank order', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page = await list({ search: 'quokka' }, alice.apiKey, 1, after);
      seen.push(...page.edges.map((e) => e.node.title));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['Trip', 'Park', 'Zoo', 'AboutQuokkaStuff']);
  });

  it("isolation: neither user finds the other's conversations", async () => {
    expect(await titles({ search: 'quokka' }, bob.apiKey)).toEqual(['Bob quokka']);
    expect(await titles({ search: 'rottnest' }, bob.apiKey)).toEqual([]);
    expect(await titles({ agentId: agentA }, bob.apiKey)).toEqual([]);
  });

  it('model: a message or a run by that model', async () => {
    expect(await titles({ model: 'm/alpha' })).toEqual(['Trip']);
    expect(await titles({ model: 'm/beta' })).toEqual(['Plain']);
    expect(await titles({ model: 'm/none' })).toEqual([]);
  });

  it('agentId: the default agent or a run with it', async () => {
    expect(await titles({ agentId: agentA })).toEqual(['Trip']);
    expect(await titles({ agentId: agentB })).toEqual(['Plain']);
  });

  it('from/to: updatedAt in [from, to)', async () => {
    expect(await titles({ from: '2025-02-01T00:00:00Z', to: '2025-04-01T00:00:00Z' })).toEqual(['Zoo', 'AboutQuokkaStuff']);
    expect(await titles({ from: '2025-04-01T00:00:00Z' })).toEqual(['Plain', 'Park']);
    expect(await titles({ to: '2025-01-01T00:00:01Z' })).toEqual(['Trip']);
  });

  it('minCost: total conversation cost at least the amount', async () => {
    expect(await titles({ minCost: 0.375 })).toEqual(['Zoo', 'Trip']);
    expect(await titles({ minCost: 0.376 })).toEqual(['Zoo']);
    expect(await titles({ minCost: 0 })).toHaveLength(5);
    expect(await titles({ minCost: 0.4, search: 'quokka' })).toEqual(['Zoo']);
  });

  it('rejects bad filters and cursors from the other ordering', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ minCost: -1 }, 'filter.minCost'],
      [{ from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }, 'filter.to'],
      [{ agentId: 'not-an-id' }, 'filter.agentId'],
      [{ search: 'x'.repeat(501) }, 'filter.search'],
    ];
    for (const [filter, field] of cases) {
      const res = await p.gql(LIST, { filter }, alice.apiKey);
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const plain = await list({}, alice.apiKey, 1);
    const mixed = await p.gql(LIST, { filter: { search: 'quokka' }, after: plain.pageInfo.endCursor }, alice.apiKey);
    expect(mixed.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('plain paging keeps microseconds: rows a microsecond apart are neither skipped nor repeated', async () => {
    const user = await p.newUser();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await createConversation(p, user.apiKey, { title: `c${i}` }));
    for (const [i, id] of ids.entries()) {
      await sql(p, 'update conversations set updated_at = ? where id = ?', [`2025-01-01T00:00:00.12345${i}Z`, id]);
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page = await list({}, user.apiKey, 2, after);
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());
  });
});
