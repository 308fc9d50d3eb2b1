import type { TestParley } from '../support/parley';

/**
 * The demo model with a 400-token window and 100 output tokens: the prompt
 * budget is 300, and 297 for messages once reply priming is counted. Demo has
 * no real tokenizer, so a message costs 4 + ceil(chars / 3) tokens.
 */
export const SMALL_WINDOW_ENV = {
  PARLEY_MODELS: JSON.stringify({ 'demo/demo': { contextWindow: 400, maxOutputTokens: 100 } }),
  PARLEY_DEMO_TOKEN_DELAY_MS: '0',
};

/** 90 characters: 34 tokens with the overhead. */
export const text90 = (label: string) => `${label} `.padEnd(90, 'lorem ipsum ');
export const TOKENS_90 = 34;

export const PREVIEW = `query($c: ID!, $leaf: ID, $model: String) { previewContext(conversationId: $c, leafId: $leaf, model: $model) {
  strategy model contextWindow reservedOutputTokens budgetTokens usedTokens toolTokens
  items { messageId role tokens kind } dropped { messageId tokens reason }
  summary { content tokens messageCount throughMessageId } summaryError } }`;

export interface Plan {
  strategy: string;
  model: string;
  contextWindow: number;
  reservedOutputTokens: number;
  budgetTokens: number;
  usedTokens: number;
  toolTokens: number;
  items: { messageId: string | null; role: string; tokens: number; kind: string }[];
  dropped: { messageId: string; tokens: number; reason: string }[];
  summary: { content: string; tokens: number; messageCount: number; throughMessageId: string } | null;
  summaryError: string | null;
}

const APPEND = `mutation($input: AppendMessageInput!) { appendMessage(input: $input) { message { id } } }`;

/** Thin helpers over the real API for one user. */
export function contextClient(p: TestParley, key: string) {
  const ok = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    const res = await p.gql<T>(query, variables, key);
    if (!res.data || res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data;
  };
  return {
    ok,
    async conversation(settings: Record<string, unknown> = {}): Promise<string> {
      const d = await ok<{ createConversation: { conversation: { id: string } } }>(
        'mutation($s: ConversationSettingsInput) { createConversation(input: { settings: $s }) { conversation { id } } }',
        { s: settings },
      );
      return d.createConversation.conversation.id;
    },
    async append(conversationId: string, role: string, content: string, extra: Record<string, unknown> = {}): Promise<string> {
      const d = await ok<{ appendMessage: { message: { id: string } } }>(APPEND, { input: { conversationId, role, content, ...extra } });
      return d.appendMessage.message.id;
    },
    /** `n` alternating USER/ASSISTANT messages of 34 tokens each, root first. */
    async thread(conversationId: string, n: number, from = 0): Promise<string[]> {
      const ids: string[] = [];
      for (let i = from; i < from + n; i++) ids.push(await this.append(conversationId, i % 2 ? 'ASSISTANT' : 'USER', text90(`m${i}`)));
      return ids;
    },
    async settings(conversationId: string, settings: Record<string, unknown>): Promise<void> {
      await ok('mutation($i: UpdateConversationInput!) { updateConversation(input: $i) { conversation { id } } }', { i: { conversationId, settings } });
    },
    async preview(conversationId: string, leafId?: string): Promise<Plan> {
      return (await ok<{ previewContext: Plan }>(PREVIEW, { c: conversationId, leaf: leafId })).previewContext;
    },
  };
}

export const sentIds = (plan: Plan) => plan.items.map((i) => i.messageId ?? i.kind);
export const droppedAs = (plan: Plan, reason: string) => plan.dropped.filter((d) => d.reason === reason).map((d) => d.messageId);

/** Rows in context_summaries for a conversation, straight from Postgres. */
export async function summaryRows(p: TestParley, conversationId: string): Promise<{ through_message_id: string; message_count: number }[]> {
  return p.app.runtime.orm.em
    .getConnection()
    .execute('select through_message_id, message_count from context_summaries where conversation_id = ? order by created_at', [conversationId]);
}
