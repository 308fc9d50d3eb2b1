import { startTestParley, type TestParley } from '../support/parley';

const CREATE = 'mutation($input: CreateAgentInput!) { createAgent(input: $input) { agent { id name model tools version temperature } } }';

describe('agents, health and readiness', () => {
  let p: TestParley;
  let key: string;
  beforeAll(async () => {
    p = await startTestParley({ redis: true });
    key = (await p.newUser()).apiKey;
  });
  afterAll(() => p.stop());

  it('creates, updates (bumping the version), lists and deletes agents, scoped to the owner', async () => {
    const created = await p.gql<{ createAgent: { agent: { id: string; version: number } } }>(
      CREATE,
      { input: { name: 'Math tutor', model: 'demo/demo', tools: ['calculator'], temperature: 0.2, instructions: 'Show your work.' } },
      key,
    );
    const agent = created.data!.createAgent.agent;
    expect(agent).toMatchObject({ name: 'Math tutor', tools: ['calculator'], version: 1, temperature: 0.2 });
    const updated = await p.gql<{ updateAgent: { agent: { name: string; version: number } } }>(
      'mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { agent { name version } } }',
      { input: { agentId: agent.id, name: 'Tutor' } },
      key,
    );
    expect(updated.data?.updateAgent.agent).toEqual({ name: 'Tutor', version: 2 });
    const list = await p.gql<{ agents: { edges: { node: { id: string } }[] } }>('{ agents { edges { node { id } } } }', {}, key);
    expect(list.data?.agents.edges.map((e) => e.node.id)).toEqual([agent.id]);
    const stranger = await p.newUser();
    expect((await p.gql('query($id: ID!) { agent(id: $id) { id } }', { id: agent.id }, stranger.apiKey)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const bad = await p.gql(CREATE, { input: { name: 'x', model: 'demo/demo', temperature: 3 } }, key);
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'temperature' });
    const del = 'mutation($id: ID!) { deleteAgent(input: { agentId: $id }) { deletedAgentId } }';
    expect((await p.gql(del, { id: agent.id }, key)).data).toEqual({ deleteAgent: { deletedAgentId: agent.id } });
    expect((await p.gql(del, { id: agent.id }, key)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('reports liveness and readiness of Postgres and Redis as JSON', async () => {
    const base = p.url.replace('/graphql', '');
    const live = await fetch(`${base}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  });
});
