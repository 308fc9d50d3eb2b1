import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { buildChunks, completion, errorBody } from './fake-openai-wire';

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
  /**
   * Holds the stream before `data:` chunk `chunks` (counted like `afterChunks`) until `until` settles, then
   * goes on: a test breaks something at a point of the stream it chose, and waits for events, not time.
   */
  hold?: { chunks: number; until: Promise<unknown> };
  reasoningField?: 'reasoning_content' | 'reasoning';
}

/** `afterChunks` counts every `data:` chunk, including the opening `{role: 'assistant'}` one. */
export type FakeScenario =
  | ({ kind: 'stream' } & StreamShape)
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** `clean` ends the response properly (still no finish_reason, no [DONE]) instead of destroying the socket. */
  | ({ kind: 'truncate'; afterChunks: number; clean?: boolean } & StreamShape)
  | ({ kind: 'malformed'; afterChunks: number } & StreamShape)
  | ({ kind: 'hang'; afterChunks: number; /** never even send headers */ beforeHeaders?: boolean } & StreamShape)
  | ({ kind: 'error-after'; afterChunks: number; error?: FakeErrorBody } & StreamShape)
  /** After `afterChunks`, a chunk with an empty delta every `everyMs` (default 50) until the client gives up. */
  | ({ kind: 'empty-deltas'; afterChunks: number; everyMs?: number } & StreamShape);

/** OpenAI's error object, as sent in a 4xx/5xx body or as a mid-stream `data: {"error": …}` event. */
export interface FakeErrorBody {
  message: string;
  type?: string;
  code?: string | null;
}

export interface FakeRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, as the client sent it. */
  body: Record<string, unknown>;
  scenario: FakeScenario['kind'];
  /** Epoch ms with sub-ms precision (timeOrigin + performance.now()), comparable across processes. */
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
        const message = `No route ${req.method} ${path}`;
        return sendJson(res, 404, errorBody({ message, type: 'invalid_request_error' }));
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, errorBody({ message: 'Body is not JSON', type: 'invalid_request_error' }));
      }
      const scenario = queue.shift() ?? { kind: 'stream', text: ['ok'] };
      const record: FakeRequest = {
        method: req.method,
        path,
        headers: req.headers,
        body,
        scenario: scenario.kind,
        receivedAt,
        sentAt: [],
      };
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
    waitForRequests: (count, timeoutMs = 2000) =>
      waitFor(`${count} requests`, () => requests.length >= count, timeoutMs),
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
    const body = scenario.body ?? errorBody({ message: `Scripted status ${scenario.status}`, type: 'server_error' });
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

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
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
        write(
          JSON.stringify(
            errorBody({
              message: 'The server had an error while processing your request.',
              type: 'server_error',
              ...scenario.error,
            }),
          ),
        );
        return res.end();
      case 'empty-deltas': {
        const empty = JSON.stringify({ id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, delta: { content: '' }, finish_reason: null }] });
        const t = setInterval(() => write(empty), scenario.everyMs ?? 50);
        timers.add(t);
        return;
      }
      default:
        return; // hang: stay silent until the client gives up
    }
  };

  let start = now() + (scenario.initialDelayMs ?? 0);
  const delay = scenario.delayMs ?? 0;
  let held = scenario.hold;
  // Chunk i is due at start + i·delay: a setTimeout chain against absolute targets, so lateness never accumulates.
  const pump = (from: number) => {
    for (let i = from; !res.destroyed; i++) {
      if (held && i === held.chunks) {
        const released = () => {
          held = undefined;
          start = now() - i * delay; // the rest keeps its pace from the release on
          pump(i);
        };
        void held.until.then(released, released);
        return;
      }
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

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}
