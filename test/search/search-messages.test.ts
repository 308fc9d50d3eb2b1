import { startTestParley, type TestParley } from '../support/parley';
import { append, createConversation, sql } from '../usage/usage-fixtures';

const SEARCH = `query($q: String!, $first: Int, $after: String) { searchMessages(query: $q, first: $first, after: $after) {
  edges { cursor rank snippet node { id role content } conversation { id title } }
  pageInfo { hasNextPage hasPreviousPage endCursor } } }`;

interface Hit {
  cursor: string;
  rank: number;
  snippet: string;
  node: { id: string; role: string; content: string };
  conversation: { id: string; title: string };
}
type SearchData = { searchMessages: { edges: Hit[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null } } };

describe('searchMessages: full-text search over the viewer’s messages', () => {
  let p: TestParley;
  let alice: { id: string; apiKey: string };
  let bob: { id: string; apiKey: string };
  const ids: Record<string, string> = {};
  const search = async (q: string, key = alice.apiKey, first?: number, after?: string | null) => {
    const res = await p.gql<SearchData>(SEARCH, { q, first, after }, key);
    expect(res.errors).toBeUndefined();
    return res.data!.searchMessages;
  };

  beforeAll(async () => {
    p = await startTestParley();
    alice = await p.newUser();
    bob = await p.newUser();
    ids.trip = await createConversation(p, alice.apiKey, { title: 'Rottnest trip' });
    ids.twice = await append(p, alice.apiKey, { conversationId: ids.trip, content: 'We saw a quokka, then another quokka near the lighthouse.' });
    ids.zoo = await createConversation(p, alice.apiKey, { title: 'Zoo' });
    ids.once = await append(p, alice.apiKey, { conversationId: ids.zoo, role: 'ASSISTANT', content: 'The zoo has one quokka and many other marsupials in a large enclosure.' });
    ids.html = await append(p, alice.apiKey, { conversationId: ids.zoo, content: 'Is <script>alert(1)</script> a quokka & friend?' });
    await append(p, alice.apiKey, { conversationId: ids.zoo, role: 'ASSISTANT', content: '', toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{}' }] });
    ids.tool = await append(p, alice.apiKey, { conversationId: ids.zoo, role: 'TOOL', content: 'quokka quokka quokka', toolCallId: 'call_1' });
    for (let i = 0; i < 5; i++) await append(p, alice.apiKey, { conversationId: ids.zoo, content: `wombat note number ${i}` });
    ids.bobs = await createConversation(p, bob.apiKey, { title: 'Bob' });
    ids.bobQuokka = await append(p, bob.apiKey, { conversationId: ids.bobs, content: 'quokka quokka quokka quokka' });
  });
  afterAll(() => p.stop());

  it('ranks a message matching twice above one matching once, with <b> snippets and its conversation', async () => {
    const { edges } = await search('quokka');
    expect(edges).toHaveLength(3);
    const twice = edges[0];
    const once = edges.find((e) => e.node.id === ids.once)!;
    expect(twice.node.id).toBe(ids.twice);
    expect(twice.rank).toBeGreaterThan(once.rank);
    expect(edges.map((e) => e.rank)).toEqual([...edges.map((e) => e.rank)].sort((a, b) => b - a));
    expect(twice.snippet).toContain('<b>quokka</b>');
    expect(twice.snippet.match(/<b>quokka<\/b>/g)).toHaveLength(2);
    expect(twice.conversation).toEqual({ id: ids.trip, title: 'Rottnest trip' });
    expect(once.conversation.id).toBe(ids.zoo);
    expect(edges.map((e) => e.node.role)).not.toContain('TOOL');
  });

  it('snippets are HTML-safe: content is escaped, only the match marks are tags', async () => {
    const hit = (await search('quokka')).edges.find((e) => e.node.id === ids.html)!;
    expect(hit.node.content).toContain('<script>');
    // The only tags are the match marks; the rest arrives as entities.
    expect(hit.snippet.replace(/<\/?b>/g, '')).not.toMatch(/[<>]/);
    expect(hit.snippet).toContain('script&gt;');
    expect(hit.snippet).toContain('&amp;');
    expect(hit.snippet).toContain('<b>quokka</b>');
  });

  it('pages with cursors through the same order as one big page, ties broken by id', async () => {
    // Equal rank and equal created_at (to the microsecond): only the id orders them.
    await sql(p, `update messages set created_at = '2025-01-01T00:00:00.123456Z' where content like 'wombat%'`);
    const all = (await search('wombat', alice.apiKey, 50)).edges.map((e) => e.node.id);
    expect(all).toHaveLength(5);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await search('wombat', alice.apiKey, 2, after);
      seen.push(...res.edges.map((e) => e.node.id));
      expect(res.pageInfo.hasPreviousPage).toBe(after !== null);
      if (!res.pageInfo.hasNextPage) break;
      after = res.pageInfo.endCursor;
    }
    expect(seen).toEqual(all);
    expect(all).toEqual([...all].sort().reverse());
  });

  it("never shows another user's messages", async () => {
    const forAlice = (await search('quokka')).edges.map((e) => e.node.id);
    expect(forAlice).not.toContain(ids.bobQuokka);
    const forBob = (await search('quokka', bob.apiKey)).edges.map((e) => e.node.id);
    expect(forBob).toEqual([ids.bobQuokka]);
    expect((await search('lighthouse', bob.apiKey)).edges).toEqual([]);
  });

  it('rejects blank queries and foreign cursors; stop words find nothing', async () => {
    const blank = await p.gql(SEARCH, { q: '   ' }, alice.apiKey);
    expect(blank.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'query' });
    const list = await p.gql<{ conversations: { pageInfo: { endCursor: string } } }>('{ conversations(first: 1) { pageInfo { endCursor } } }', {}, alice.apiKey);
    const foreign = await p.gql(SEARCH, { q: 'quokka', after: list.data!.conversations.pageInfo.endCursor }, alice.apiKey);
    expect(foreign.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    expect((await search('the and of')).edges).toEqual([]);
    expect((await search('"unclosed OR -')).edges).toEqual([]);
  });
});
