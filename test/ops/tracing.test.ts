import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { SpanKind } from '@opentelemetry/api';
import { collect, startTestParley, TEST_REDIS_URL, type TestParley } from '../support/parley';
import { spawnParley, type ParleyProcess } from '../support/process';
import { RUN_EVENTS, type RunEventsData } from '../runs/run-helpers';
import { installTracing, uninstallTracing } from '../../src/observability';
import { eventually, newConversation, send } from './ops-helpers';

/** A caller's W3C trace context: the run's whole trace must continue it. */
function traceparent(): { header: string; traceId: string; parentId: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { header: `00-${traceId}-${parentId}-01`, traceId, parentId };
}

async function calculatorRun(p: TestParley, key: string, header: string): Promise<string> {
  const agent = await p.gql<{ createAgent: { agent: { id: string } } }>('mutation { createAgent(input: { name: "calc", model: "demo/demo", tools: ["calculator"] }) { agent { id } } }', {}, key);
  const conversationId = await newConversation(p, key);
  const { run } = await send(p, key, { conversationId, content: 'What is 12*(3+4)?', agentId: agent.data!.createAgent.agent.id }, { traceparent: header });
  const items = await collect<RunEventsData>(p.ws(key), RUN_EVENTS, { runId: run.id, after: 0 }, () => false);
  expect(items.at(-1)?.data?.runEvents.__typename).toBe('RunCompleted');
  return run.id;
}

describe('traces through the running server (in-memory exporter, BullMQ queue hop)', () => {
  const exporter = new InMemorySpanExporter();
  let p: TestParley;
  let key: string;

  beforeAll(async () => {
    installTracing([new SimpleSpanProcessor(exporter)]);
    p = await startTestParley({ redis: true, env: { PARLEY_DEMO_TOKEN_DELAY_MS: '1' } });
    key = (await p.newUser()).apiKey;
  });
  afterAll(async () => {
    await p?.stop();
    await uninstallTracing();
  });

  it('one sendMessage is one trace: HTTP mutation → enqueue → worker → model calls, tool call, step writes', async () => {
    const caller = traceparent();
    const runId = await calculatorRun(p, key, caller.header);
    // The worker's span ends once execute() returns, just after the terminal event the client saw.
    await eventually('the run span', () => exporter.getFinishedSpans().some((s) => s.name === 'process runs' && s.attributes['parley.run.id'] === runId));
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === caller.traceId);
    const named = (name: string) => spans.filter((s) => s.name === name);
    const one = (name: string) => {
      const found = named(name);
      expect(found.map((s) => s.name)).toEqual([name]);
      return found[0];
    };
    const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

    const http = one('mutation sendMessage');
    expect(http.kind).toBe(SpanKind.SERVER);
    expect(parentOf(http)).toBe(caller.parentId);
    expect(http.attributes).toMatchObject({ 'graphql.operation.type': 'mutation', 'graphql.operation.name': 'sendMessage', 'parley.outcome': 'ok', 'http.response.status_code': 200 });

    const publish = one('publish runs');
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(publish)).toBe(http.spanContext().spanId);
    expect(publish.attributes).toMatchObject({ 'messaging.system': 'bullmq', 'parley.run.id': runId });

    // Across the queue: the job carried the enqueue's context in its data.
    const processRun = one('process runs');
    expect(processRun.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(processRun)).toBe(publish.spanContext().spanId);
    expect(processRun.attributes).toMatchObject({ 'parley.run.id': runId, 'parley.run.status': 'COMPLETED', 'parley.run.kind': 'CHAT' });

    const chats = named('chat demo');
    expect(chats).toHaveLength(2); // asks for the tool, then answers with its result
    for (const chat of chats) {
      expect(chat.kind).toBe(SpanKind.CLIENT);
      expect(parentOf(chat)).toBe(processRun.spanContext().spanId);
      expect(chat.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'demo', 'gen_ai.request.model': 'demo', 'parley.run.id': runId });
      expect(chat.attributes['gen_ai.usage.input_tokens']).toEqual(expect.any(Number));
      expect(chat.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    }

    const tool = one('execute_tool calculator');
    expect(parentOf(tool)).toBe(processRun.spanContext().spanId);
    expect(tool.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'calculator', 'parley.tool.cached': false });
    expect(tool.status.code).not.toBe(2);

    const writes = named('persist run step');
    expect(writes.map((w) => w.attributes['parley.step.type'])).toEqual(['MODEL_CALL', 'TOOL_CALL', 'MODEL_CALL']);
    for (const w of writes) {
      expect(parentOf(w)).toBe(processRun.spanContext().spanId);
      expect(w.attributes['db.system.name']).toBe('postgresql');
    }
    // The steps happen in order within the run's span.
    const startOf = (s: ReadableSpan) => s.startTime[0] * 1e9 + s.startTime[1];
    expect(startOf(chats[0])).toBeLessThanOrEqual(startOf(tool));
    expect(startOf(tool)).toBeLessThanOrEqual(startOf(chats[1]));
  });

  it('a request without a traceparent starts a trace of its own; an erroring one says so', async () => {
    exporter.reset();
    const res = await p.gql('query { run(id: "00000000-0000-7000-8000-000000000000") { id } }', {}, key);
    expect(res.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    await eventually('the query span', () => exporter.getFinishedSpans().some((s) => s.name === 'query run'));
    const span = exporter.getFinishedSpans().find((s) => s.name === 'query run')!;
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes['parley.outcome']).toBe('NOT_FOUND');
  });
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** A stand-in OpenTelemetry collector: OTLP/HTTP JSON on /v1/traces. */
async function startCollector(): Promise<{ url: string; spans: { service: string; span: OtlpSpan }[]; close(): Promise<void> }> {
  const spans: { service: string; span: OtlpSpan }[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.includes('json')) {
        const body = JSON.parse(Buffer.concat(parts).toString()) as {
          resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const rs of body.resourceSpans) {
          const service = String(rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue);
          for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ service, span });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

describe('OTLP export from separate API and worker processes (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let db: TestParley;
  let api: ParleyProcess | undefined;
  let worker: ParleyProcess | undefined;

  beforeAll(async () => {
    collector = await startCollector();
    // A scratch database and Redis prefix, made (and removed) by an in-process node that serves nothing here.
    db = await startTestParley({ redis: true, env: { PARLEY_WORKER: 'off' } });
    const env = {
      DATABASE_URL: db.databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: db.redisPrefix,
      PARLEY_DEMO_TOKEN_DELAY_MS: '1',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      PARLEY_METRICS: 'off',
    };
    [api, worker] = await Promise.all([
      spawnParley({ ...env, PARLEY_WORKER: 'off', OTEL_SERVICE_NAME: 'parley-api', PARLEY_ADMIN_KEY: db.adminKey }, 'src/main.ts', 'Parley is listening', 60_000),
      spawnParley({ ...env, OTEL_SERVICE_NAME: 'parley-worker' }, 'src/worker.ts', 'Parley worker is running', 60_000),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await db?.stop();
    await collector?.close();
  });

  it('exports one trace across both processes, flushed when they stop', async () => {
    const caller = traceparent();
    const key = db.adminKey;
    const res = await fetch(api!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, traceparent: caller.header },
      body: JSON.stringify({ query: 'mutation { createConversation(input: { title: "otlp" }) { conversation { id } } }' }),
    });
    const conversationId = ((await res.json()) as { data: { createConversation: { conversation: { id: string } } } }).data.createConversation.conversation.id;
    const sent = await fetch(api!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, traceparent: caller.header },
      body: JSON.stringify({ query: 'mutation($c: ID!) { sendMessage(input: { conversationId: $c, content: "hi" }) { run { id } } }', variables: { c: conversationId } }),
    });
    const runId = ((await sent.json()) as { data: { sendMessage: { run: { id: string } } } }).data.sendMessage.run.id;
    await eventually('the run to end', async () => {
      const r = await fetch(api!.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: 'query($id: ID!) { run(id: $id) { status } }', variables: { id: runId } }),
      });
      return ((await r.json()) as { data: { run: { status: string } } }).data.run.status === 'COMPLETED';
    }, 30_000);
    // SIGTERM: each process flushes its batch of spans on the way out.
    expect(await worker!.stop()).toBe(0);
    expect(await api!.stop()).toBe(0);
    const inTrace = collector.spans.filter((s) => s.span.traceId === caller.traceId);
    const find = (name: string) => inTrace.find((s) => s.span.name === name);
    const publish = find('publish runs');
    const processRun = find('process runs');
    expect(find('mutation sendMessage')?.service).toBe('parley-api');
    expect(publish?.service).toBe('parley-api');
    expect(processRun?.service).toBe('parley-worker');
    expect(processRun?.span.parentSpanId).toBe(publish?.span.spanId);
    expect(find('chat demo')?.span.parentSpanId).toBe(processRun?.span.spanId);
    expect(find('persist run step')?.service).toBe('parley-worker');
  });
});
