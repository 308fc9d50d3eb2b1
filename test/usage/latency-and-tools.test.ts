import { collect, startTestParley, type TestParley } from '../support/parley';
import { RUN_EVENTS, SEND, type RunEventsData, type SendData } from '../runs/run-helpers';
import { createAgent, createConversation, insertRun, insertToolStep, percentileCont } from './usage-fixtures';

const LATENCY = `query($input: LatencyReportInput!) { latencyReport(input: $input) { groupBy rows {
  key label runCount ttftMs { p50 p95 p99 } durationMs { p50 p95 p99 } } } }`;
const TOOLS = `query($input: ReportRangeInput!) { toolUsageReport(input: $input) { rows { toolName calls errors successRate avgDurationMs } } }`;

type P = { p50: number | null; p95: number | null; p99: number | null };
type Row = { key: string | null; label: string | null; runCount: number; ttftMs: P; durationMs: P };
type ToolRow = { toolName: string; calls: number; errors: number; successRate: number; avgDurationMs: number | null };

const FROM = '2025-06-01T00:00:00Z';
const TO = '2025-06-08T00:00:00Z';
const at = (day: number, minute = 0) => new Date(Date.UTC(2025, 5, day, 12, minute)).toISOString();

const expectPercentiles = (actual: P, values: number[]) => {
  expect(actual.p50).toBeCloseTo(percentileCont(values, 0.5), 6);
  expect(actual.p95).toBeCloseTo(percentileCont(values, 0.95), 6);
  expect(actual.p99).toBeCloseTo(percentileCont(values, 0.99), 6);
};

describe('latencyReport and toolUsageReport', () => {
  let p: TestParley;
  let alice: { id: string; apiKey: string };
  let bob: { id: string; apiKey: string };
  let agentId: string;
  const ttftAlpha = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000];
  const durAlpha = [1000, 1100, 1300, 1600, 2000, 2500, 3100, 3800, 4600, 9000];
  const ttftBeta = [50, 70, 400];
  const durBeta = [500, 900, 1500];

  beforeAll(async () => {
    p = await startTestParley({ env: { PARLEY_DEMO_TOKEN_DELAY_MS: '1' } });
    alice = await p.newUser();
    bob = await p.newUser();
    agentId = await createAgent(p, alice.apiKey, 'Timer');
    const c = await createConversation(p, alice.apiKey, { title: 'latency' });
    const base = { conversationId: c, ownerId: alice.id };
    for (let i = 0; i < ttftAlpha.length; i++) {
      await insertRun(p, { ...base, model: 'm/alpha', agentId, createdAt: at(1 + (i % 7), i), ttftMs: ttftAlpha[i], durationMs: durAlpha[i] });
    }
    for (let i = 0; i < ttftBeta.length; i++) {
      await insertRun(p, { ...base, model: 'm/beta', createdAt: at(2, i), ttftMs: ttftBeta[i], durationMs: durBeta[i] });
    }
    // Not completed, or outside the range: never counted.
    await insertRun(p, { ...base, model: 'm/alpha', status: 'FAILED', createdAt: at(3), ttftMs: 99_999, durationMs: 99_999 });
    await insertRun(p, { ...base, model: 'm/alpha', createdAt: '2025-06-08T00:00:00Z', ttftMs: 99_999, durationMs: 99_999 });
    // A completed run that never streamed a token still counts, with no TTFT sample.
    await insertRun(p, { ...base, model: 'm/gamma', createdAt: at(4), ttftMs: null, durationMs: 250 });

    const toolRun = await insertRun(p, { ...base, model: 'm/alpha', status: 'FAILED', createdAt: at(5) });
    const calc: [string, number][] = [['COMPLETED', 10], ['COMPLETED', 20], ['FAILED', 30], ['COMPLETED', 40]];
    for (const [i, [status, ms]] of calc.entries()) {
      await insertToolStep(p, toolRun, i, 'calculator', status as 'COMPLETED' | 'FAILED', at(5, i + 1), ms);
    }
    await insertToolStep(p, toolRun, 10, 'current_time', 'COMPLETED', at(5, 20), 3);
    await insertToolStep(p, toolRun, 11, 'current_time', 'COMPLETED', '2025-06-09T00:00:00Z', 3); // outside the range
  });
  afterAll(() => p.stop());

  const latency = async (groupBy: string, key = alice.apiKey, from = FROM, to = TO) => {
    const res = await p.gql<{ latencyReport: { rows: Row[] } }>(LATENCY, { input: { from, to, groupBy } }, key);
    expect(res.errors).toBeUndefined();
    return res.data!.latencyReport.rows;
  };

  it('MODEL: percentile_cont of TTFT and duration over completed runs in the range', async () => {
    const rows = await latency('MODEL');
    expect(rows.map((r) => [r.key, r.runCount])).toEqual([['m/alpha', 10], ['m/beta', 3], ['m/gamma', 1]]);
    expectPercentiles(rows[0].ttftMs, ttftAlpha);
    expectPercentiles(rows[0].durationMs, durAlpha);
    expectPercentiles(rows[1].ttftMs, ttftBeta);
    expectPercentiles(rows[1].durationMs, durBeta);
    expect(rows[2].ttftMs).toEqual({ p50: null, p95: null, p99: null });
    expect(rows[2].durationMs).toEqual({ p50: 250, p95: 250, p99: 250 });
  });

  it('AGENT: labelled by agent name, runs without an agent under a null key', async () => {
    const rows = await latency('AGENT');
    expect(rows.map((r) => [r.key, r.label, r.runCount])).toEqual([[agentId, 'Timer', 10], [null, null, 4]]);
    expectPercentiles(rows[0].durationMs, durAlpha);
    expectPercentiles(rows[1].durationMs, [...durBeta, 250]);
  });

  it('toolUsageReport: calls, FAILED steps as errors, success rate and mean duration', async () => {
    const res = await p.gql<{ toolUsageReport: { rows: ToolRow[] } }>(TOOLS, { input: { from: FROM, to: TO } }, alice.apiKey);
    expect(res.errors).toBeUndefined();
    expect(res.data!.toolUsageReport.rows).toEqual([
      { toolName: 'calculator', calls: 4, errors: 1, successRate: 0.75, avgDurationMs: 25 },
      { toolName: 'current_time', calls: 1, errors: 0, successRate: 1, avgDurationMs: 3 },
    ]);
  });

  it("other users see nothing of alice's runs; ranges are checked", async () => {
    expect(await latency('MODEL', bob.apiKey)).toEqual([]);
    const tools = await p.gql<{ toolUsageReport: { rows: ToolRow[] } }>(TOOLS, { input: { from: FROM, to: TO } }, bob.apiKey);
    expect(tools.data!.toolUsageReport.rows).toEqual([]);
    const bad = await p.gql(LATENCY, { input: { from: TO, to: FROM, groupBy: 'MODEL' } }, alice.apiKey);
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.to' });
    const forbidden = await p.gql(TOOLS, { input: { from: FROM, to: TO, allUsers: true } }, bob.apiKey);
    expect(forbidden.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('a real demo run with the calculator shows up in both reports', async () => {
    const now = Date.now();
    const range = { from: new Date(now - 60_000).toISOString(), to: new Date(now + 600_000).toISOString() };
    const conversationId = await createConversation(p, bob.apiKey, { title: 'math' });
    const sent = await p.gql<SendData>(SEND, { input: { conversationId, content: 'What is 6*7?', settings: { tools: ['calculator'] } } }, bob.apiKey);
    expect(sent.errors).toBeUndefined();
    await collect<RunEventsData>(p.ws(bob.apiKey), RUN_EVENTS, { runId: sent.data!.sendMessage.run.id, after: 0 }, () => false);
    const rows = await latency('MODEL', bob.apiKey, range.from, range.to);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ key: 'demo/demo', runCount: 1 });
    expect(rows[0].ttftMs.p50).toBeGreaterThanOrEqual(0);
    expect(rows[0].durationMs.p50).toBeGreaterThan(0);
    const tools = await p.gql<{ toolUsageReport: { rows: ToolRow[] } }>(TOOLS, { input: range }, bob.apiKey);
    expect(tools.data!.toolUsageReport.rows).toMatchObject([{ toolName: 'calculator', calls: 1, errors: 0, successRate: 1 }]);
  });
});
