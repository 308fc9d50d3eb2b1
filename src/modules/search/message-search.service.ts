import type { Context, Viewer } from '../../server/context';
import { badInput } from '../../server/errors';
import { decodeCursor, encodeCursor, pageSize, toConnection, type Connection } from '../../server/relay';
import { requireText } from '../../server/validate';
import { validate as isUuid } from 'uuid';
import { Message } from '../messages/message.entity';
import { Conversation } from '../conversations/conversation.entity';
import { MAX_SEARCH_TEXT, findMessageHits, type HitPosition } from '../tools/message-search';

export interface MessageSearchHit {
  message: Message;
  conversation: Conversation;
  snippet: string;
  rank: number;
}

type HitCursor = [number, string, string];

function position(cursor: HitCursor | undefined): HitPosition | undefined {
  if (!cursor) return undefined;
  const [rank, createdAt, id] = cursor;
  if (typeof rank !== 'number' || typeof createdAt !== 'string' || typeof id !== 'string' || !isUuid(id)) {
    throw badInput('after', 'is not a cursor from this list');
  }
  return { rank, createdAt, id };
}

/** Full-text search over the viewer's messages, through the one shared FTS query. */
export class SearchService {
  async messages(
    ctx: Context,
    viewer: Viewer,
    args: { query: string; first?: number | null; after?: string | null },
  ): Promise<Connection<MessageSearchHit>> {
    const query = requireText(args.query, 'query', MAX_SEARCH_TEXT);
    const limit = pageSize(args.first);
    const after = position(decodeCursor('messageSearch', args.after, ['number', 'timestamp', 'uuid']));
    const rows = await findMessageHits(ctx.em, viewer.id, query, { limit: limit + 1, after, highlight: 'html' });
    if (rows.length === 0) return toConnection([], limit, () => '', Boolean(after));
    // Two batched reads for the whole page: the hit rows carry ids, not entities.
    const [messages, conversations] = await Promise.all([
      ctx.em.find(Message, { id: { $in: rows.map((r) => r.message_id) } }),
      ctx.em.find(Conversation, { id: { $in: [...new Set(rows.map((r) => r.conversation_id))] }, owner: viewer.id }),
    ]);
    const messageById = new Map(messages.map((m) => [m.id, m]));
    const conversationById = new Map(conversations.map((c) => [c.id, c]));
    const hits = rows.flatMap((r) => {
      const message = messageById.get(r.message_id);
      const conversation = conversationById.get(r.conversation_id);
      // A message deleted between the two reads simply drops out of the page.
      return message && conversation ? [{ message, conversation, snippet: r.snippet, rank: r.rank, at: r.created_at_text }] : [];
    });
    return toConnection(hits, limit, (h) => encodeCursor('messageSearch', [h.rank, h.at, h.message.id]), Boolean(after));
  }
}
