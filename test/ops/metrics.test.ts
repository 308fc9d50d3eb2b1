import { collect, startTestParley, type TestParley } from '../support/parley';
import { spawnParley, type ParleyProcess } from '../support/process';
import { RUN_EVENTS, type RunEventsData } from '../runs/run-helpers';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registry } from '../../src/observability/metrics';
import { eventually, freePort, metricsUrl, newConversation, scrape, send, series, total, type Sample } from './ops-helpers';

const NOT_FOUND_RUN = 'query { run(id: "00000000-0000-7000-8000-000000000000") { id } }';

/** Runs a demo run to its end over graphql-ws; resolves with the event type names. */
async function demoRun(p: TestParley, key: string, conversationId: string, extra: Record<string, unknown> = {}): Promise<string[]> {
  const { run } = await send(p, key, { conversationId, content: 'Hello, metrics!', ...extra });
  const items = await collect<RunEventsData>(p.ws(key), RUN_EVENTS, { runId: run.id, after: 0 }, () => false);
  return items.map((i) => i.data?.runEvents.__typename ?? 'error');
}

describe('Prometheus metrics on an API node with its inline worker (memory queue and log)', () => {
  let p: TestParley;
  let key: string;
  let before: Sample[];
  let after: Sample[];

  beforeAll(async () => {
    p = await startTestParley({ env: { PARLEY_DEMO_TOKEN_DELAY_MS: '1' } });
    key = (await p.newUser()).apiKey;
    before = await scrape(metricsUrl(p));
    const conversationId = await newConversation(p, key);
    expect((await demoRun(p, key, conversationId)).at(-1)).toBe('RunCompleted');
    // A tool-calling run: the demo model calls the calculator for arithmetic.
    const agent = await p.gql<{ createAgent: { agent: { id: string } } }>('mutation { createAgent(input: { name: "calc", model: "demo/demo", tools: ["calculator"] }) { agent { id } } }', {}, key);
    const calc = await newConversation(p, key);
    expect((await demoRun(p, key, calc, { content: 'What is 12*(3+4)?', agentId: agent.data!.createAgent.agent.id })).at(-1)).toBe('RunCompleted');
    // Erroring operations: a run that does not exist, and a bad key.
    expect((await p.gql(NOT_FOUND_RUN, {}, key)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await p.gql('query { viewer { id } }', {}, 'pk_not_a_real_key_000000000000')).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    after = await scrape(metricsUrl(p));
  });
  afterAll(() => p?.stop());

  const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);

  it('counts GraphQL operations by transport, type, name and outcome, with duration histograms', () => {
    expect(moved('parley_graphql_operations_total', { transport: 'http', type: 'mutation', operation: 'sendMessage', outcome: 'ok' })).toBe(2);
    expect(moved('parley_graphql_operations_total', { transport: 'http', type: 'query', operation: 'run', outcome: 'NOT_FOUND' })).toBe(1);
    expect(moved('parley_graphql_operations_total', { transport: 'http', type: 'query', operation: 'viewer', outcome: 'UNAUTHENTICATED' })).toBe(1);
    // Each run's event stream, over WebSocket, counted when it completed.
    expect(moved('parley_graphql_operations_total', { transport: 'ws', type: 'subscription', operation: 'runEvents', outcome: 'ok' })).toBe(2);
    expect(moved('parley_graphql_operation_duration_seconds_count', { transport: 'http', type: 'mutation', operation: 'sendMessage' })).toBe(2);
    expect(series(after, 'parley_graphql_operation_duration_seconds_bucket', { transport: 'http', operation: 'sendMessage', le: '+Inf' })).toHaveLength(1);
  });

  it('counts runs by kind and status, their transitions, durations, time to first token and queue wait', () => {
    expect(moved('parley_runs_enqueued_total')).toBe(2);
    expect(moved('parley_runs_started_total', { kind: 'CHAT' })).toBe(2);
    expect(moved('parley_runs_finished_total', { kind: 'CHAT', status: 'COMPLETED', reason: 'none' })).toBe(2);
    expect(moved('parley_run_transitions_total', { from: 'QUEUED', to: 'IN_PROGRESS' })).toBe(2);
    expect(moved('parley_run_transitions_total', { from: 'IN_PROGRESS', to: 'COMPLETED' })).toBe(2);
    expect(moved('parley_run_duration_seconds_count', { kind: 'CHAT', status: 'COMPLETED' })).toBe(2);
    expect(moved('parley_run_ttft_seconds_count', { model: 'demo/demo' })).toBe(2);
    expect(moved('parley_run_queue_wait_seconds_count')).toBe(2);
    expect(moved('parley_run_step_write_seconds_count', { type: 'MODEL_CALL' })).toBe(3);
    expect(moved('parley_run_step_write_seconds_count', { type: 'TOOL_CALL' })).toBe(1);
  });

  it('counts model calls, tokens and cost by model, and tool calls by tool and outcome', () => {
    expect(moved('parley_model_calls_total', { model: 'demo/demo', outcome: 'ok' })).toBe(3);
    expect(moved('parley_model_tokens_total', { model: 'demo/demo', type: 'prompt' })).toBeGreaterThan(0);
    expect(moved('parley_model_tokens_total', { model: 'demo/demo', type: 'completion' })).toBeGreaterThan(0);
    expect(moved('parley_model_call_duration_seconds_count', { model: 'demo/demo' })).toBe(3);
    expect(moved('parley_tool_calls_total', { tool: 'calculator', outcome: 'ok' })).toBe(1);
    expect(moved('parley_tool_call_duration_seconds_count', { tool: 'calculator' })).toBe(1);
  });

  it('reports state: database pool, Postgres, active runs, queue depth, open sockets, and process metrics', () => {
    expect(series(after, 'parley_db_pool_connections').map((s) => s.labels.state).sort()).toEqual(['free', 'pending_acquires', 'pending_creates', 'used']);
    expect(total(after, 'parley_db_pool_connections', { state: 'free' }) + total(after, 'parley_db_pool_connections', { state: 'used' })).toBeGreaterThan(0);
    expect(total(after, 'parley_postgres_up')).toBe(1);
    expect(series(after, 'parley_runs_active').map((s) => s.labels.status).sort()).toEqual(['CANCELLING', 'IN_PROGRESS', 'QUEUED', 'REQUIRES_ACTION']);
    expect(total(after, 'parley_runs_active')).toBe(0);
    expect(total(after, 'parley_run_queue_depth')).toBe(0);
    // Without Redis there is no Redis gauge at all (rather than a misleading 0).
    expect(series(after, 'parley_redis_up')).toHaveLength(0);
    expect(series(after, 'parley_ws_connections')).toHaveLength(1);
    expect(series(after, 'parley_ws_subscriptions')).toHaveLength(1);
    expect(total(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(series(after, 'nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
  });

  it('counts a WebSocket connection and its subscription while they are open', async () => {
    const conversationId = await newConversation(p, key);
    const client = p.ws(key);
    // A conversation's events stream for as long as the client stays.
    const stop = client.subscribe(
      { query: 'subscription($id: ID!) { conversationEvents(conversationId: $id) { __typename } }', variables: { id: conversationId } },
      { next: () => undefined, error: () => undefined, complete: () => undefined },
    );
    await eventually('the socket and its subscription to be counted', async () => {
      const now = await scrape(metricsUrl(p));
      return total(now, 'parley_ws_connections') >= 1 && total(now, 'parley_ws_subscriptions') >= 1;
    });
    stop();
    await client.dispose();
    await eventually('the socket to be gone', async () => {
      const now = await scrape(metricsUrl(p));
      return total(now, 'parley_ws_connections') === 0 && total(now, 'parley_ws_subscriptions') === 0;
    });
    const ended = await scrape(metricsUrl(p));
    expect(total(ended, 'parley_graphql_operations_total', { transport: 'ws', type: 'subscription', operation: 'conversationEvents', outcome: 'ok' })).toBe(1);
  });

  it('the Grafana dashboard and the alert rules query only metrics that exist', () => {
    const known = new Set(registry.getMetricsAsArray().map((m) => m.name));
    const root = join(__dirname, '..', '..');
    for (const file of ['ops/grafana/dashboards/parley.json', 'ops/prometheus/alerts.yml']) {
      const used = [...readFileSync(join(root, file), 'utf8').matchAll(/\b((?:parley|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1].replace(/_(bucket|count|sum)$/, ''));
      expect(used.length).toBeGreaterThan(5);
      expect({ file, unknown: [...new Set(used)].filter((name) => !known.has(name)) }).toEqual({ file, unknown: [] });
    }
  });

  it('bounds label values a client chooses: an odd operation name reads "other"', async () => {
    const odd = await fetch(p.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: 'query A { viewer { id } }', operationName: 'no such operation!' }),
    });
    expect(((await odd.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    for (let i = 0; i < 3; i++) {
      const res = await fetch(p.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: `query Op${i} { viewer { id } }`, operationName: `Op${i}` }),
      });
      expect(res.status).toBe(200);
    }
    const now = await scrape(metricsUrl(p));
    expect(total(now, 'parley_graphql_operations_total', { operation: 'Op0', outcome: 'ok' })).toBe(1);
    expect(total(now, 'parley_graphql_operations_total', { operation: 'other', outcome: 'BAD_USER_INPUT' })).toBe(1);
    expect(series(now, 'parley_graphql_operations_total').every((s) => /^[A-Za-z0-9_.:/-]+$/.test(s.labels.operation))).toBe(true);
  });
});

describe('Prometheus metrics with Redis: event log, queue depth, Redis health, a separate port, and off', () => {
  let p: TestParley;
  let port: number;
  let key: string;

  beforeAll(async () => {
    port = await freePort();
    p = await startTestParley({ redis: true, env: { PARLEY_DEMO_TOKEN_DELAY_MS: '1', PARLEY_METRICS_PORT: String(port) } });
    key = (await p.newUser()).apiKey;
  });
  afterAll(() => p?.stop());

  it('serves /metrics on PARLEY_METRICS_PORT only, and times Redis event log appends and reads', async () => {
    expect((await fetch(metricsUrl(p))).status).toBe(404);
    const url = `http://127.0.0.1:${port}/metrics`;
    const before = await scrape(url);
    const conversationId = await newConversation(p, key);
    expect((await demoRun(p, key, conversationId)).at(-1)).toBe('RunCompleted');
    const after = await scrape(url);
    const appended = total(after, 'parley_event_log_appends_total') - total(before, 'parley_event_log_appends_total');
    // Every event of the run went through the Redis log (the subscriber saw them all).
    expect(appended).toBeGreaterThanOrEqual(10);
    expect(series(after, 'parley_event_log_append_seconds_count')).toHaveLength(1);
    expect(total(after, 'parley_event_log_read_seconds_count')).toBeGreaterThan(total(before, 'parley_event_log_read_seconds_count'));
    expect(total(after, 'parley_redis_up')).toBe(1);
    expect(total(after, 'parley_run_queue_depth')).toBe(0);
    expect(total(after, 'parley_runs_finished_total', { status: 'COMPLETED' })).toBeGreaterThanOrEqual(1);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });

  it('PARLEY_METRICS=off serves no /metrics', async () => {
    const off = await startTestParley({ env: { PARLEY_METRICS: 'off' } });
    try {
      expect((await fetch(metricsUrl(off))).status).toBe(404);
    } finally {
      await off.stop();
    }
  });
});

describe('a separate worker process serves its own metrics (runs execute there)', () => {
  let api: TestParley;
  let worker: ParleyProcess | undefined;
  let workerMetrics: string;

  beforeAll(async () => {
    api = await startTestParley({ redis: true, env: { PARLEY_WORKER: 'off', PARLEY_DEMO_TOKEN_DELAY_MS: '1' } });
    const port = await freePort();
    worker = await spawnParley(
      {
        DATABASE_URL: api.databaseUrl,
        REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
        REDIS_PREFIX: api.redisPrefix,
        PARLEY_METRICS_PORT: String(port),
        PARLEY_DEMO_TOKEN_DELAY_MS: '1',
      },
      'src/worker.ts',
      'Parley worker is running',
      60_000,
    );
    workerMetrics = `http://127.0.0.1:${port}/metrics`;
  }, 90_000);
  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
  });

  it('counts the run on the worker, the operations on the API node', async () => {
    const key = (await api.newUser()).apiKey;
    const conversationId = await newConversation(api, key);
    // This test process holds the API node; its registry also counted the nodes of the tests above.
    const apiBefore = await scrape(metricsUrl(api));
    expect((await demoRun(api, key, conversationId)).at(-1)).toBe('RunCompleted');
    const [onWorker, apiAfter] = [await scrape(workerMetrics), await scrape(metricsUrl(api))];
    const onApi = (name: string, labels: Record<string, string> = {}) => total(apiAfter, name, labels) - total(apiBefore, name, labels);
    expect(total(onWorker, 'parley_runs_started_total', { kind: 'CHAT' })).toBe(1);
    expect(total(onWorker, 'parley_runs_finished_total', { status: 'COMPLETED' })).toBe(1);
    expect(total(onWorker, 'parley_model_tokens_total', { model: 'demo/demo', type: 'completion' })).toBeGreaterThan(0);
    expect(total(onWorker, 'parley_run_queue_wait_seconds_count')).toBe(1);
    expect(total(onWorker, 'parley_event_log_appends_total')).toBeGreaterThan(0);
    expect(onApi('parley_runs_started_total')).toBe(0);
    expect(onApi('parley_runs_enqueued_total')).toBe(1);
    expect(onApi('parley_graphql_operations_total', { operation: 'sendMessage', outcome: 'ok' })).toBe(1);
    expect(worker!.logs.some((l) => l.includes('"msg":"metrics are served"'))).toBe(true);
  });
});
