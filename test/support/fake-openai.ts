import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A scripted OpenAI-compatible server speaking the real wire format of
 * POST /v1/chat/completions over real HTTP, so providers and the run engine
 * are tested against bytes, not mocks. Scenarios are served in queue order.
 */

/** Friendly usage; sent in OpenAI's nested wire shape. */
export interface FakeUsage {
  promptTokens?: number;
  completionTokens?: number;
  reasoningTokens?: number;
  cachedTokens?: number;
}

export interface FakeToolCall {
  id: string;
  name: string;
  argumentsChunks: string[];
}

/** What a successful stream contains; failure scenarios reuse it for the chunks sent before they fail. */
export interface StreamShape {
  reasoning?: string[];
  text?: string[];
  toolCalls?: FakeToolCall[];
  /** Round-robin the argument fragments of parallel calls instead of sending call after call. */
  interleaveToolCalls?: boolean;
  /** Default: `tool_calls` when there are tool calls, else `stop`; null sends no finish chunk at all. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter' | null;
  usage?: FakeUsage;
  /** Gap between consecutive chunks, scheduled against absolute targets so it does not drift. */
  delayMs?: number;
  /** Wait after the response headers before the first chunk (time to first token). */
  initialDelayMs?: number;
  reasoningField?: 'reasoning_content' | 'reasoning';
}

/** `afterChunks` counts every `data:` chunk, including the opening `{role: 'assistant'}` one. */
export type FakeScenario =
  | ({ kind: 'stream' } & StreamShape)
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | ({ kind: 'truncate'; afterChunks: number; /** end the response cleanly instead of destroying the socket */ clean?: boolean } & StreamShape)
  | ({ kind: 'malformed'; afterChunks: number } & StreamShape)
  | ({ kind: 'hang'; afterChunks: number; /** never even send headers */ beforeHeaders?: boolean } & StreamShape)
  | ({ kind: 'error-after'; afterChunks: number; error?: { message: string; type?: string; code?: string | null } } & StreamShape);

export interface FakeRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, as the client sent it. */
  body: Record<string, unknown>;
  scenario: FakeScenario['kind'];
  /** Epoch milliseconds with sub-millisecond precision (timeOrigin + performance.now()), comparable across processes. */
  receivedAt: number;
  /** Send time of every `data:` chunk, same clock: lets a benchmark measure the latency Parley adds. */
  sentAt: number[];
  finishedAt?: number;
  /** When the client closed the connection before the response was complete. */
  abortedAt?: number;
}

export interface FakeOpenAI {
  /** Base URL ending in /v1, ready for `baseURL`. */
  url: string;
  requests: FakeRequest[];
  enqueue(...scenarios: FakeScenario[]): void;
  /** Scenarios not yet served: a test can assert its script was consumed. */
  pending(): number;
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves with the abort time of request `index` once the client has gone. */
  waitForAbort(index: number, timeoutMs?: number): Promise<number>;
  reset(): void;
  close(): Promise<void>;
}

export const now = (): number => performance.timeOrigin + performance.now();

type Chunk = Record<string, unknown>;

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const queue: FakeScenario[] = [];
  const requests: FakeRequest[] = [];
  let seq = 0;

  const server = createServer((req, res) => {
    const receivedAt = now();
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'POST' || path !== '/v1/chat/completions') {
        return sendJson(res, 404, { error: { message: `No route ${req.method} ${path}`, type: 'invalid_request_error' } });
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, { error: { message: 'Body is not JSON', type: 'invalid_request_error' } });
      }
      const scenario = queue.shift() ?? { kind: 'stream', text: ['ok'] };
      const record: FakeRequest = { method: req.method, path, headers: req.headers, body, scenario: scenario.kind, receivedAt, sentAt: [] };
      requests.push(record);
      serve(res, scenario, record, `chatcmpl-fake-${++seq}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const waitFor = async (what: string, ok: () => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`fake-openai: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...s) => void queue.push(...s),
    pending: () => queue.length,
    waitForRequests: (count, timeoutMs = 2000) => waitFor(`${count} requests`, () => requests.length >= count, timeoutMs),
    async waitForAbort(index, timeoutMs = 2000) {
      await waitFor(`abort of request ${index}`, () => requests[index]?.abortedAt !== undefined, timeoutMs);
      return requests[index].abortedAt as number;
    },
    reset() {
      queue.length = 0;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function serve(res: ServerResponse, scenario: FakeScenario, record: FakeRequest, id: string): void {
  if (scenario.kind === 'status') {
    const body = scenario.body ?? { error: { message: `Scripted status ${scenario.status}`, type: 'server_error', param: null, code: null } };
    return sendJson(res, scenario.status, body, scenario.headers);
  }
  const model = typeof record.body.model === 'string' ? record.body.model : 'fake-model';
  if (record.body.stream !== true) return sendJson(res, 200, completion(id, model, scenario));

  const timers = new Set<NodeJS.Timeout>();
  let selfClosed = false;
  res.on('close', () => {
    for (const t of timers) clearTimeout(t);
    if (!res.writableFinished && !selfClosed) record.abortedAt = now();
  });
  if (scenario.kind === 'hang' && scenario.beforeHeaders) return;

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();

  const includeUsage = (record.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const chunks = buildChunks(id, model, scenario, includeUsage, record.body);
  const failAt = scenario.kind === 'stream' ? Infinity : Math.min(scenario.afterChunks, chunks.length);
  let flushed = Promise.resolve();
  const write = (data: string) => {
    flushed = new Promise((resolve) => res.write(`data: ${data}\n\n`, () => resolve()));
    record.sentAt.push(now());
  };
  const fail = () => {
    switch (scenario.kind) {
      case 'truncate':
        selfClosed = true;
        // Destroying at once would drop chunks still in Node's buffers; the client must see them first.
        if (scenario.clean) res.end();
        else void flushed.then(() => res.socket?.destroy());
        return;
      case 'malformed':
        write('{not json');
        return res.end();
      case 'error-after':
        write(JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null, ...scenario.error } }));
        return res.end();
      default:
        return; // hang: stay silent until the client gives up
    }
  };

  const start = now() + (scenario.initialDelayMs ?? 0);
  const delay = scenario.delayMs ?? 0;
  // Chunk i is due at start + i·delay: a setTimeout chain against absolute targets, so lateness never accumulates.
  const pump = (from: number) => {
    for (let i = from; !res.destroyed; i++) {
      if (i === failAt) return fail();
      if (i === chunks.length) {
        write('[DONE]');
        record.finishedAt = now();
        return res.end();
      }
      const wait = start + i * delay - now();
      if (wait > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          pump(i);
        }, wait);
        timers.add(t);
        return;
      }
      write(JSON.stringify(chunks[i]));
    }
  };
  pump(0);
}

function buildChunks(id: string, model: string, s: StreamShape, includeUsage: boolean, body: Record<string, unknown>): Chunk[] {
  const created = Math.floor(Date.now() / 1000);
  const envelope = (choices: unknown[], extra: Chunk = {}): Chunk => ({
    id, object: 'chat.completion.chunk', created, model, choices, ...(includeUsage ? { usage: null } : {}), ...extra,
  });
  const delta = (d: Chunk, finish: string | null = null) => envelope([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);

  const out: Chunk[] = [delta({ role: 'assistant', content: '', refusal: null })];
  for (const r of s.reasoning ?? []) out.push(delta({ [s.reasoningField ?? 'reasoning_content']: r }));
  for (const t of s.text ?? []) out.push(delta({ content: t }));
  const calls = s.toolCalls ?? [];
  const header = (c: FakeToolCall, index: number) =>
    delta({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] });
  const fragment = (index: number, args: string) => delta({ tool_calls: [{ index, function: { arguments: args } }] });
  if (s.interleaveToolCalls) {
    const rounds = Math.max(0, ...calls.map((c) => c.argumentsChunks.length)) + 1;
    for (let k = 0; k < rounds; k++) {
      calls.forEach((c, i) => {
        if (k === 0) out.push(header(c, i));
        else if (k - 1 < c.argumentsChunks.length) out.push(fragment(i, c.argumentsChunks[k - 1]));
      });
    }
  } else {
    calls.forEach((c, i) => {
      out.push(header(c, i));
      for (const a of c.argumentsChunks) out.push(fragment(i, a));
    });
  }
  const finish = s.finishReason === undefined ? (calls.length ? 'tool_calls' : 'stop') : s.finishReason;
  if (finish !== null) out.push(delta({}, finish));
  if (includeUsage) out.push(envelope([], { usage: wireUsage(s, body) }));
  return out;
}

function wireUsage(s: StreamShape, body: Record<string, unknown>): Chunk {
  const pieces = (s.reasoning?.length ?? 0) + (s.text?.length ?? 0) + (s.toolCalls ?? []).reduce((n, c) => n + c.argumentsChunks.length, 0);
  const prompt = s.usage?.promptTokens ?? Math.ceil(JSON.stringify(body.messages ?? []).length / 4);
  const completion = s.usage?.completionTokens ?? pieces;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: s.usage?.cachedTokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: s.usage?.reasoningTokens ?? s.reasoning?.length ?? 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** Non-streaming answer built from the same script, for callers that do not ask for a stream. */
function completion(id: string, model: string, s: StreamShape): Chunk {
  const calls = s.toolCalls ?? [];
  const message: Chunk = { role: 'assistant', content: s.text?.join('') ?? null, refusal: null };
  if (s.reasoning?.length) message[s.reasoningField ?? 'reasoning_content'] = s.reasoning.join('');
  if (calls.length) {
    message.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.argumentsChunks.join('') } }));
  }
  const finish = s.finishReason ?? (calls.length ? 'tool_calls' : 'stop');
  return {
    id, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
    usage: wireUsage(s, {}),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}
