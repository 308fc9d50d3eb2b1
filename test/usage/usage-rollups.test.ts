import { collect, startTestParley, type TestParley } from '../support/parley';
import { RUN_EVENTS, SEND, type RunEventsData, type SendData } from '../runs/run-helpers';
import {
  USAGE_FIELDS,
  ZERO,
  append,
  createAgent,
  createConversation,
  expectUsage,
  insertRun,
  setMessage,
  sumUsage,
  usageOf,
  type Usage,
} from './usage-fixtures';

const CONVERSATION = `query($id: ID!, $leafId: ID) { conversation(id: $id) {
  usage { ${USAGE_FIELDS} }
  active: branchUsage { ${USAGE_FIELDS} }
  branch: branchUsage(leafId: $leafId) { ${USAGE_FIELDS} } } }`;

type ConversationUsage = { conversation: { usage: Usage; active: Usage; branch: Usage } };

describe('usage rollups: branch, conversation, agent and viewer are sums of their parts', () => {
  let p: TestParley;
  let alice: { id: string; apiKey: string };
  let bob: { id: string; apiKey: string };
  const ids: Record<string, string> = {};
  const u = {
    root: usageOf({ prompt: 10, completion: 0, cost: 0.0001 }),
    a1: usageOf({ prompt: 100, completion: 40, reasoning: 12, cached: 30, cost: 0.0042 }),
    a2: usageOf({ prompt: 120, completion: 55, reasoning: 0, cached: 0, cost: 0.0061 }),
    other: usageOf({ prompt: 7, completion: 3, cost: 0.00003 }),
  };

  beforeAll(async () => {
    p = await startTestParley({ countQueries: true, env: { PARLEY_DEMO_TOKEN_DELAY_MS: '1' } });
    alice = await p.newUser();
    bob = await p.newUser();
    ids.c1 = await createConversation(p, alice.apiKey, { title: 'tree' });
    ids.root = await append(p, alice.apiKey, { conversationId: ids.c1, content: 'hello' });
    ids.a1 = await append(p, alice.apiKey, { conversationId: ids.c1, role: 'ASSISTANT', content: 'first answer', parentId: ids.root });
    // A regenerated answer: a sibling of a1 and the active leaf.
    ids.a2 = await append(p, alice.apiKey, { conversationId: ids.c1, role: 'ASSISTANT', content: 'second answer', parentId: ids.root });
    ids.c2 = await createConversation(p, alice.apiKey, { title: 'other' });
    ids.o1 = await append(p, alice.apiKey, { conversationId: ids.c2, content: 'elsewhere' });
    const raw = (x: Usage) => ({ prompt: x.promptTokens, completion: x.completionTokens, reasoning: x.reasoningTokens, cached: x.cachedTokens, cost: x.costUsd });
    await setMessage(p, ids.root, raw(u.root));
    await setMessage(p, ids.a1, raw(u.a1));
    await setMessage(p, ids.a2, raw(u.a2));
    await setMessage(p, ids.o1, raw(u.other));
  });
  afterAll(() => p.stop());

  it('branch usage sums the path root → leaf; conversation usage sums every branch', async () => {
    const res = await p.gql<ConversationUsage>(CONVERSATION, { id: ids.c1, leafId: ids.a1 }, alice.apiKey);
    expect(res.errors).toBeUndefined();
    const c = res.data!.conversation;
    expectUsage(c.branch, sumUsage([u.root, u.a1]));
    expectUsage(c.active, sumUsage([u.root, u.a2]));
    expectUsage(c.usage, sumUsage([u.root, u.a1, u.a2]));
    const root = await p.gql<ConversationUsage>(CONVERSATION, { id: ids.c1, leafId: ids.root }, alice.apiKey);
    expectUsage(root.data!.conversation.branch, u.root);
  });

  it('an empty conversation has zero branch usage; a leaf of another conversation or user is NOT_FOUND', async () => {
    const empty = await createConversation(p, alice.apiKey, { title: 'empty' });
    const res = await p.gql<ConversationUsage>(CONVERSATION, { id: empty, leafId: null }, alice.apiKey);
    expectUsage(res.data!.conversation.active, ZERO);
    const foreign = await p.gql(CONVERSATION, { id: ids.c1, leafId: ids.o1 }, alice.apiKey);
    expect(foreign.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const bobs = await createConversation(p, bob.apiKey, { title: 'bob' });
    const bobMessage = await append(p, bob.apiKey, { conversationId: bobs, content: 'mine' });
    const stranger = await p.gql(CONVERSATION, { id: ids.c1, leafId: bobMessage }, alice.apiKey);
    expect(stranger.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const bad = await p.gql(CONVERSATION, { id: ids.c1, leafId: 'nope' }, alice.apiKey);
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'leafId' });
  });

  it('viewer usage is the sum of their conversations, and nobody else sees it', async () => {
    const res = await p.gql<{ viewer: { usage: Usage } }>(`{ viewer { usage { ${USAGE_FIELDS} } } }`, {}, alice.apiKey);
    expectUsage(res.data!.viewer.usage, sumUsage([u.root, u.a1, u.a2, u.other]));
    const bobs = await p.gql<{ viewer: { usage: Usage } }>(`{ viewer { usage { ${USAGE_FIELDS} } } }`, {}, bob.apiKey);
    expectUsage(bobs.data!.viewer.usage, ZERO);
  });

  it('agent usage is the sum of its runs, batched: one statement for any number of agents', async () => {
    const agents = [await createAgent(p, alice.apiKey, 'a'), await createAgent(p, alice.apiKey, 'b'), await createAgent(p, alice.apiKey, 'idle')];
    const runs = [
      { agentId: agents[0], usage: { prompt: 11, completion: 5, reasoning: 1, cached: 2, cost: 0.001 } },
      { agentId: agents[0], usage: { prompt: 31, completion: 7, reasoning: 0, cached: 0, cost: 0.002 } },
      { agentId: agents[1], usage: { prompt: 50, completion: 50, reasoning: 9, cached: 40, cost: 0.01 } },
      { agentId: undefined, usage: { prompt: 999, completion: 999, cost: 1 } },
    ];
    for (const r of runs) {
      await insertRun(p, { conversationId: ids.c2, ownerId: alice.id, model: 'demo/demo', createdAt: new Date().toISOString(), ...r });
    }
    p.queries.length = 0;
    const res = await p.gql<{ agents: { edges: { node: { id: string; usage: Usage } }[] } }>(
      `{ agents(first: 10) { edges { node { id usage { ${USAGE_FIELDS} } } } } }`,
      {},
      alice.apiKey,
    );
    expect(res.errors).toBeUndefined();
    const byId = new Map(res.data!.agents.edges.map((e) => [e.node.id, e.node.usage]));
    const expected = (agentId: string) => sumUsage(runs.filter((r) => r.agentId === agentId).map((r) => usageOf(r.usage)));
    for (const id of agents) expectUsage(byId.get(id)!, expected(id));
    expect(p.queries.filter((q) => /from runs r where r\.agent_id/.test(q))).toHaveLength(1);
  });

  it('a real run: agent usage equals the run usage, conversation usage equals its messages', async () => {
    const agentId = await createAgent(p, alice.apiKey, 'demo agent');
    const conversationId = await createConversation(p, alice.apiKey, { title: 'live', agentId });
    const sent = await p.gql<SendData>(SEND, { input: { conversationId, content: 'Tell me something' } }, alice.apiKey);
    const runId = sent.data!.sendMessage.run.id;
    await collect<RunEventsData>(p.ws(alice.apiKey), RUN_EVENTS, { runId, after: 0 }, () => false);
    const res = await p.gql<{
      run: { usage: Usage; agent: { usage: Usage } };
      conversation: { usage: Usage; branchUsage: Usage; messages: { edges: { node: { usage: Usage } }[] } };
    }>(
      `query($run: ID!, $c: ID!) {
        run(id: $run) { usage { ${USAGE_FIELDS} } agent { usage { ${USAGE_FIELDS} } } }
        conversation(id: $c) { usage { ${USAGE_FIELDS} } branchUsage { ${USAGE_FIELDS} }
          messages(first: 50) { edges { node { usage { ${USAGE_FIELDS} } } } } } }`,
      { run: runId, c: conversationId },
      alice.apiKey,
    );
    expect(res.errors).toBeUndefined();
    const { run, conversation } = res.data!;
    expect(run.usage.totalTokens).toBeGreaterThan(0);
    expectUsage(run.agent.usage, run.usage);
    const messages = sumUsage(conversation.messages.edges.map((e) => e.node.usage));
    expectUsage(conversation.usage, messages);
    expectUsage(conversation.branchUsage, messages);
    expectUsage(conversation.usage, run.usage);
  });
});
