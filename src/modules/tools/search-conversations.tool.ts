import type { MessageSearchHit, ToolDefinition } from './tool.types';

/** Arguments for searching past conversations; `limit` defaults to 5. */
export interface SearchConversationsArgs {
  query: string;
  limit?: number;
}

/**
 * Lets an agent recall what the viewer discussed before. Goes through
 * `ctx.searchMessages`, which only ever sees the viewer's own messages. Not
 * cached: new messages change the answer.
 */
export const searchConversationsTool: ToolDefinition<SearchConversationsArgs> = {
  name: 'search_conversations',
  description:
    "Full-text search over the user's past conversation messages. Supports quoted phrases, OR, and -exclusions. " +
    'Returns the best-matching messages with a snippet (matches wrapped in **).',
  parameters: {
    type: 'object',
    properties: {
      query: { type: 'string', minLength: 1, maxLength: 500, description: 'Words or phrases to look for' },
      limit: { type: 'integer', minimum: 1, maximum: 20, description: 'Maximum hits to return (default 5)' },
    },
    required: ['query'],
    additionalProperties: false,
  },
  async execute({ query, limit = 5 }, ctx): Promise<{ hits: MessageSearchHit[] }> {
    const hits = await ctx.searchMessages(query, limit);
    return { hits };
  },
};
