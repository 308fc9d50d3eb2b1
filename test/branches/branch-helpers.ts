import type { GqlResult } from '../support/parley';
import { MODEL, PRICE, startHarness, type Harness } from '../runs/fake-run-harness';

/** Catalog prices for the demo models the comparison tests use, so their cost is not zero. */
export const DEMO_PRICE = { inputPricePer1M: 1, outputPricePer1M: 4 };
export const DEMO_MODELS = ['demo/alpha', 'demo/beta', 'demo/gamma'];

/** A Parley node with the demo model as default (1 ms per token) and the scripted fake provider beside it. */
export function startBranchHarness(): Promise<Harness> {
  return startHarness({
    env: {
      PARLEY_DEMO_TOKEN_DELAY_MS: '1',
      PARLEY_DEFAULT_MODEL: 'demo/demo',
      PARLEY_MODELS: JSON.stringify({
        [MODEL]: { inputPricePer1M: PRICE.input, cachedInputPricePer1M: PRICE.cachedInput, outputPricePer1M: PRICE.output },
        ...Object.fromEntries(DEMO_MODELS.map((m) => [m, DEMO_PRICE])),
      }),
    },
  });
}

export function ok<T>(res: GqlResult<T>): T {
  if (!res.data || res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data;
}

/** The error code (and field) of a failed request. */
export const failure = (res: GqlResult<unknown>) => ({ code: res.errors?.[0]?.extensions?.code, field: res.errors?.[0]?.extensions?.field });

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  costUsd: number;
}

export interface Node {
  id: string;
  role: string;
  content: string;
  reasoning: string | null;
  model: string | null;
  status: string;
  depth: number;
  toolCallId: string | null;
  toolCalls: { id: string; name: string; arguments: string }[];
  latencyMs: number | null;
  createdAt: string;
  usage: Usage;
  parent: { id: string } | null;
  run: { id: string } | null;
}

export const NODE = `id role content reasoning model status depth toolCallId toolCalls { id name arguments } latencyMs createdAt
  usage { promptTokens completionTokens reasoningTokens cachedTokens costUsd } parent { id } run { id }`;

const PATH = `query($id: ID!, $leafId: ID) { conversation(id: $id) { messages(first: 100, leafId: $leafId) { edges { node { ${NODE} } } } } }`;

export async function path(h: Harness, conversationId: string, leafId?: string): Promise<Node[]> {
  const data = ok(await h.p.gql<{ conversation: { messages: { edges: { node: Node }[] } } }>(PATH, { id: conversationId, leafId }, h.key));
  return data.conversation.messages.edges.map((e) => e.node);
}

export const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } run { id model } } }`;

/** Sends a user message and waits for its run to complete. */
export async function say(h: Harness, input: Record<string, unknown>): Promise<{ message: { id: string }; run: { id: string; model: string } }> {
  const sent = ok(await h.p.gql<{ sendMessage: { message: { id: string }; run: { id: string; model: string } } }>(SEND, { input }, h.key)).sendMessage;
  await completed(h, sent.run.id);
  return sent;
}

export async function completed(h: Harness, runId: string): Promise<void> {
  const events = await h.watch(runId).done;
  expect(events.at(-1)?.__typename).toBe('RunCompleted');
}

export const APPEND = `mutation($input: AppendMessageInput!) { appendMessage(input: $input) { message { id } } }`;

export async function append(h: Harness, input: Record<string, unknown>): Promise<string> {
  return ok(await h.p.gql<{ appendMessage: { message: { id: string } } }>(APPEND, { input }, h.key)).appendMessage.message.id;
}

export async function newConversation(h: Harness, title = 'branches'): Promise<string> {
  const res = await h.p.gql<{ createConversation: { conversation: { id: string } } }>(
    'mutation($t: String) { createConversation(input: { title: $t, tags: ["b"], settings: { systemPrompt: "Be brief." } }) { conversation { id } } }',
    { t: title },
    h.key,
  );
  return ok(res).createConversation.conversation.id;
}
