import type { Client } from 'graphql-ws';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai';
import { startTestParley, type GqlResult, type TestParley } from '../support/parley';
import { RUN_EVENTS, SEND, type RunEventItem, type RunEventsData, type SendData } from './run-helpers';

/**
 * A Parley node wired to the scripted fake OpenAI server, with the queries the
 * run tests share: send, watch a run's events, read back the run and the branch.
 */

export const MODEL = 'fake/gpt-test';
/** Catalog prices for MODEL (USD per 1M tokens), set through PARLEY_MODELS so costUsd is checkable. */
export const PRICE = { input: 2, cachedInput: 0.5, output: 8 };

export const costOf = (u: { prompt: number; cached?: number; completion: number }): number =>
  ((u.prompt - (u.cached ?? 0)) * PRICE.input + (u.cached ?? 0) * PRICE.cachedInput + u.completion * PRICE.output) / 1e6;

export type Ev = RunEventItem & { previousStatus?: string | null; stepType?: string; toolName?: string; role?: string; index?: number };

export interface StoredRun {
  id: string;
  status: string;
  costUsd: number;
  error: { code: string; message: string } | null;
  usage: { promptTokens: number; completionTokens: number; reasoningTokens: number; cachedTokens: number; totalTokens: number; costUsd: number };
  timeToFirstTokenMs: number | null;
  steps: { index: number; type: string; status: string; toolName: string | null; toolCallId: string | null; error: { code: string } | null; usage: { totalTokens: number; costUsd: number } }[];
  pendingToolCalls: { id: string; name: string; arguments: string }[];
  responseMessage: { id: string; status: string; content: string } | null;
}

export interface StoredMessage {
  id: string;
  role: string;
  content: string;
  reasoning: string | null;
  status: string;
  toolCallId: string | null;
  toolCalls: { id: string; name: string; arguments: string }[];
  model: string | null;
  run: { id: string } | null;
}

const RUN_QUERY = `query($id: ID!) { run(id: $id) { id status costUsd error { code message }
  usage { promptTokens completionTokens reasoningTokens cachedTokens totalTokens costUsd } timeToFirstTokenMs
  steps { index type status toolName toolCallId error { code } usage { totalTokens costUsd } }
  pendingToolCalls { id name arguments } responseMessage { id status content } } }`;

const BRANCH_QUERY = `query($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node {
  id role content reasoning status toolCallId toolCalls { id name arguments } model run { id } } } } } }`;

export interface Watch {
  events: Ev[];
  /** Resolves with every event once the stream completes (rejects on an error or after 20 s). */
  done: Promise<Ev[]>;
  waitFor(pred: (events: Ev[]) => boolean, timeoutMs?: number): Promise<void>;
}

export interface Harness {
  p: TestParley;
  fake: FakeOpenAI;
  key: string;
  conversation(): Promise<string>;
  send(conversationId: string, content: string, settings?: Record<string, unknown>, key?: string): Promise<SendData['sendMessage']>;
  watch(runId: string, after?: number, key?: string): Watch;
  run(runId: string): Promise<StoredRun>;
  branch(conversationId: string): Promise<StoredMessage[]>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  redis?: boolean;
  env?: Record<string, string>;
  /** Extra PARLEY_PROVIDERS settings of the `fake` provider (timeoutMs, idleTimeoutMs, maxRetries). */
  provider?: Record<string, unknown>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const fake = await startFakeOpenAI();
  const p = await startTestParley({
    redis: opts.redis,
    env: {
      PARLEY_PROVIDERS: JSON.stringify({ fake: { baseUrl: fake.url, apiKey: 'x', maxRetries: 2, ...opts.provider } }),
      PARLEY_MODELS: JSON.stringify({
        [MODEL]: { inputPricePer1M: PRICE.input, cachedInputPricePer1M: PRICE.cachedInput, outputPricePer1M: PRICE.output },
      }),
      PARLEY_DEFAULT_MODEL: MODEL,
      ...opts.env,
    },
  });
  const key = (await p.newUser()).apiKey;
  const clients: Client[] = [];
  const ok = <T>(res: GqlResult<T>): T => {
    if (!res.data || res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data;
  };
  return {
    p,
    fake,
    key,
    async conversation() {
      const res = await p.gql<{ createConversation: { conversation: { id: string } } }>(
        'mutation { createConversation(input: { title: "fake" }) { conversation { id } } }', {}, key);
      return ok(res).createConversation.conversation.id;
    },
    async send(conversationId, content, settings, as = key) {
      return ok(await p.gql<SendData>(SEND, { input: { conversationId, content, settings } }, as)).sendMessage;
    },
    watch(runId, after = 0, as = key) {
      const client = p.ws(as);
      clients.push(client);
      const events: Ev[] = [];
      const waiters = new Set<() => void>();
      let stop = () => {};
      const done = new Promise<Ev[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`runEvents did not complete: ${JSON.stringify(events.map((e) => e.__typename))}`)), 20_000);
        const finish = (err?: unknown) => {
          clearTimeout(timer);
          if (err) reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
          else resolve(events);
        };
        stop = client.subscribe<RunEventsData>({ query: RUN_EVENTS, variables: { runId, after } }, {
          next: (v) => {
            if (v.errors) return finish(v.errors);
            events.push(v.data!.runEvents as Ev);
            for (const w of waiters) w();
          },
          error: finish,
          complete: () => finish(),
        });
      });
      done.catch(() => undefined);
      return {
        events,
        done: done.finally(() => stop()),
        waitFor(pred, timeoutMs = 5_000) {
          return new Promise<void>((resolve, reject) => {
            const check = () => {
              if (!pred(events)) return;
              waiters.delete(check);
              clearTimeout(timer);
              resolve();
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              reject(new Error(`condition not met; events so far: ${JSON.stringify(events.map((e) => e.__typename))}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
      };
    },
    async run(runId) {
      return ok(await p.gql<{ run: StoredRun }>(RUN_QUERY, { id: runId }, key)).run;
    },
    async branch(conversationId) {
      const data = ok(await p.gql<{ conversation: { messages: { edges: { node: StoredMessage }[] } } }>(BRANCH_QUERY, { id: conversationId }, key));
      return data.conversation.messages.edges.map((e) => e.node);
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
      await p.stop();
      await fake.close();
    },
  };
}

const DELTAS = new Set(['TokenDelta', 'ReasoningDelta', 'ToolCallArgumentsDelta']);

/**
 * The event sequence as labels, with each streak of the same delta collapsed
 * into one entry, so a whole run can be compared exactly with `toEqual`.
 */
export function shape(events: Ev[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    let label = e.__typename;
    if (e.__typename === 'RunStatusChanged') label += `:${e.status}`;
    else if (e.__typename === 'StepStarted') label += `:${e.stepType}${e.toolName ? `:${e.toolName}` : ''}`;
    else if (e.__typename === 'ToolCallStarted' || e.__typename === 'ToolCallArgumentsDelta' || e.__typename === 'ToolCallCompleted') label += `:${e.toolCallId}`;
    else if (e.__typename === 'MessageCompleted') label += `:${e.role}`;
    else if (e.__typename === 'RunCompleted') label += `:${e.status}`;
    else if (e.__typename === 'RunFailed') label += `:${e.error?.code}`;
    if (DELTAS.has(e.__typename) && out.at(-1) === label) continue;
    out.push(label);
  }
  return out;
}

const TERMINALS = ['RunCompleted', 'RunFailed', 'RunCancelled'];

/** Gap-free seq from 1 (or from `after + 1`), one run id, exactly one terminal event and it is last. */
export function expectWellFormed(events: Ev[], runId: string, terminal: string, after = 0): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => after + i + 1));
  expect(new Set(events.map((e) => e.runId))).toEqual(new Set([runId]));
  expect(events.filter((e) => TERMINALS.includes(e.__typename)).map((e) => e.__typename)).toEqual([terminal]);
  expect(events.at(-1)?.__typename).toBe(terminal);
}

export const textOf = (events: Ev[], type = 'TokenDelta'): string =>
  events.filter((e) => e.__typename === type).map((e) => e.text).join('');

/** The chat messages Parley sent upstream in request `i`. */
export const sentMessages = (fake: FakeOpenAI, i: number) =>
  fake.requests[i].body.messages as { role: string; content: string | null; tool_call_id?: string; tool_calls?: { id: string; function: { name: string; arguments: string } }[] }[];
