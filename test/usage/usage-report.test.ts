import { startTestParley, type TestParley } from '../support/parley';
import { UsageReportDocument, ViewerUsageDocument, createParleyClient } from '../../sdk';
import { utcDays } from '../../src/modules/usage/report-range';
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
  type UsageNumbers,
} from './usage-fixtures';

const REPORT = `query($input: UsageReportInput!) { usageReport(input: $input) {
  groupBy from to runCount messageCount totals { ${USAGE_FIELDS} }
  buckets { key label from runCount messageCount usage { ${USAGE_FIELDS} } } } }`;

interface Bucket {
  key: string | null;
  label: string | null;
  from: string | null;
  runCount: number;
  messageCount: number;
  usage: Usage;
}
interface Report {
  usageReport: { runCount: number; messageCount: number; totals: Usage; buckets: Bucket[] };
}

const FROM = '2025-02-28T00:00:00.000Z';
const TO = '2025-03-05T00:00:00.000Z';

describe('usageReport', () => {
  let p: TestParley;
  let alice: { id: string; apiKey: string };
  let bob: { id: string; apiKey: string };
  let agentId: string;
  const conv: Record<string, string> = {};
  // [conversation, day, model, usage]; user messages carry no model and no usage.
  const assistant: [string, string, string, UsageNumbers][] = [
    ['trip', '2025-03-01T09:00:00Z', 'm/alpha', { prompt: 100, completion: 20, reasoning: 5, cached: 10, cost: 0.001 }],
    ['trip', '2025-03-01T23:59:59Z', 'm/beta', { prompt: 200, completion: 30, cost: 0.004 }],
    ['trip', '2025-03-03T00:00:00Z', 'm/alpha', { prompt: 300, completion: 10, cached: 100, cost: 0.002 }],
    ['food', '2025-03-02T12:00:00Z', 'm/beta', { prompt: 50, completion: 50, reasoning: 20, cost: 0.0005 }],
  ];

  const report = async (groupBy: string, key = alice.apiKey, extra: Record<string, unknown> = {}) => {
    const res = await p.gql<Report>(REPORT, { input: { from: FROM, to: TO, groupBy, ...extra } }, key);
    expect(res.errors).toBeUndefined();
    return res.data!.usageReport;
  };
  const conversationUsage = async (id: string) =>
    (await p.gql<{ conversation: { usage: Usage } }>(`query($id: ID!) { conversation(id: $id) { usage { ${USAGE_FIELDS} } } }`, { id }, alice.apiKey)).data!
      .conversation.usage;

  beforeAll(async () => {
    p = await startTestParley();
    alice = await p.newUser();
    bob = await p.newUser();
    agentId = await createAgent(p, alice.apiKey, 'Travel agent');
    conv.trip = await createConversation(p, alice.apiKey, { title: 'Trip', agentId });
    conv.food = await createConversation(p, alice.apiKey, { title: 'Food' });
    for (const [c, at, model, usage] of assistant) {
      const q = await append(p, alice.apiKey, { conversationId: conv[c], content: 'question' });
      await setMessage(p, q, { prompt: 0, completion: 0, cost: 0 }, { createdAt: at });
      const a = await append(p, alice.apiKey, { conversationId: conv[c], role: 'ASSISTANT', content: 'answer', model });
      await setMessage(p, a, usage, { createdAt: at, agentId: c === 'trip' ? agentId : undefined });
      await insertRun(p, { conversationId: conv[c], ownerId: alice.id, agentId: c === 'trip' ? agentId : undefined, model, createdAt: at });
    }
    // Outside the range: never counted.
    const late = await append(p, alice.apiKey, { conversationId: conv.food, role: 'ASSISTANT', content: 'later', model: 'm/alpha' });
    await setMessage(p, late, { prompt: 1000, completion: 1000, cost: 1 }, { createdAt: '2025-03-05T00:00:00Z' });
    // Bob's data in the same days.
    const bobs = await createConversation(p, bob.apiKey, { title: 'Bob' });
    const b = await append(p, bob.apiKey, { conversationId: bobs, role: 'ASSISTANT', content: 'bob', model: 'm/alpha' });
    await setMessage(p, b, { prompt: 7, completion: 7, cost: 0.07 }, { createdAt: '2025-03-01T10:00:00Z' });
  });
  afterAll(() => p.stop());

  const inRange = () => sumUsage(assistant.map(([, , , u]) => usageOf(u)));

  it('DAY: every UTC day of the range, empty ones included, summing to the totals', async () => {
    const r = await report('DAY');
    expect(r.buckets.map((b) => b.key)).toEqual(['2025-02-28', '2025-03-01', '2025-03-02', '2025-03-03', '2025-03-04']);
    expect(r.buckets.map((b) => b.key)).toEqual(utcDays({ from: new Date(FROM), to: new Date(TO) }));
    expect(r.buckets.map((b) => b.from)).toEqual(r.buckets.map((b) => `${b.key}T00:00:00.000Z`));
    const [feb28, mar1, mar2, mar3, mar4] = r.buckets;
    expectUsage(feb28.usage, ZERO);
    expectUsage(mar4.usage, ZERO);
    expectUsage(mar1.usage, sumUsage([usageOf(assistant[0][3]), usageOf(assistant[1][3])]));
    expectUsage(mar2.usage, usageOf(assistant[3][3]));
    expectUsage(mar3.usage, usageOf(assistant[2][3]));
    expect(r.buckets.map((b) => [b.messageCount, b.runCount])).toEqual([[0, 0], [4, 2], [2, 1], [2, 1], [0, 0]]);
    expectUsage(r.totals, inRange());
    expectUsage(r.totals, sumUsage(r.buckets.map((b) => b.usage)));
    expect([r.messageCount, r.runCount]).toEqual([8, 4]);
  });

  it('MODEL, AGENT and CONVERSATION: totals equal the conversations they cover', async () => {
    const all = sumUsage([await conversationUsage(conv.trip), await conversationUsage(conv.food)]);
    const late = usageOf({ prompt: 1000, completion: 1000, cost: 1 });
    // Conversation totals also hold the message just past the range, which the report leaves out.
    expectUsage(sumUsage([inRange(), late]), all);
    for (const groupBy of ['DAY', 'MODEL', 'AGENT', 'CONVERSATION']) {
      const r = await report(groupBy);
      expectUsage(r.totals, inRange());
      expectUsage(sumUsage(r.buckets.map((b) => b.usage)), r.totals);
      expect(r.buckets.reduce((n, b) => n + b.messageCount, 0)).toBe(r.messageCount);
      expect(r.buckets.reduce((n, b) => n + b.runCount, 0)).toBe(r.runCount);
    }
  });

  it('MODEL buckets by model, user messages in the no-model bucket', async () => {
    const r = await report('MODEL');
    const byKey = new Map(r.buckets.map((b) => [b.key, b]));
    expect([...byKey.keys()].sort()).toEqual(['m/alpha', 'm/beta', null].sort());
    expectUsage(byKey.get('m/alpha')!.usage, sumUsage([usageOf(assistant[0][3]), usageOf(assistant[2][3])]));
    expectUsage(byKey.get('m/beta')!.usage, sumUsage([usageOf(assistant[1][3]), usageOf(assistant[3][3])]));
    expect(byKey.get(null)).toMatchObject({ messageCount: 4, runCount: 0 });
    expect(byKey.get('m/alpha')).toMatchObject({ messageCount: 2, runCount: 2 });
    expect(r.buckets[0].key).toBe('m/beta'); // most expensive first
  });

  it('AGENT and CONVERSATION buckets carry labels and equal the usage of their parts', async () => {
    const agents = await report('AGENT');
    const agent = agents.buckets.find((b) => b.key === agentId)!;
    expect(agent).toMatchObject({ label: 'Travel agent', runCount: 3 });
    expectUsage(agent.usage, sumUsage(assistant.slice(0, 3).map(([, , , u]) => usageOf(u))));
    const convs = await report('CONVERSATION');
    const trip = convs.buckets.find((b) => b.key === conv.trip)!;
    const food = convs.buckets.find((b) => b.key === conv.food)!;
    expect([trip.label, food.label]).toEqual(['Trip', 'Food']);
    expectUsage(trip.usage, await conversationUsage(conv.trip));
    expectUsage(food.usage, usageOf(assistant[3][3]));
  });

  it("isolates users; admins may ask for everyone's data, members may not", async () => {
    const bobs = await report('DAY', bob.apiKey);
    expectUsage(bobs.totals, usageOf({ prompt: 7, completion: 7, cost: 0.07 }));
    const forbidden = await p.gql(REPORT, { input: { from: FROM, to: TO, groupBy: 'DAY', allUsers: true } }, alice.apiKey);
    expect(forbidden.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const everyone = await report('MODEL', p.adminKey, { allUsers: true });
    expectUsage(everyone.totals, sumUsage([inRange(), usageOf({ prompt: 7, completion: 7, cost: 0.07 })]));
  });

  it('the typed SDK documents return the same numbers', async () => {
    const parley = createParleyClient({ url: p.url, apiKey: alice.apiKey });
    const { usageReport } = await parley.request(UsageReportDocument, { input: { from: FROM, to: TO, groupBy: 'CONVERSATION' } });
    expectUsage(usageReport.totals, inRange());
    const { viewer } = await parley.request(ViewerUsageDocument, {});
    const late = usageOf({ prompt: 1000, completion: 1000, cost: 1 });
    expectUsage(viewer.usage, sumUsage([inRange(), late]));
  });

  it('rejects empty, inverted and over-long ranges with BAD_USER_INPUT', async () => {
    const cases = [
      { from: TO, to: FROM },
      { from: FROM, to: FROM },
      { from: '2024-01-01T00:00:00Z', to: '2025-01-02T00:00:00Z' },
    ];
    for (const range of cases) {
      const res = await p.gql(REPORT, { input: { ...range, groupBy: 'DAY' } }, alice.apiKey);
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.to' });
    }
    const leap = await p.gql<Report>(REPORT, { input: { from: '2024-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z', groupBy: 'DAY' } }, alice.apiKey);
    expect(leap.errors).toBeUndefined();
    expect(leap.data?.usageReport.buckets).toHaveLength(366);
    const notADate = await p.gql(REPORT, { input: { from: 'yesterday', to: TO, groupBy: 'DAY' } }, alice.apiKey);
    expect(notADate.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});
