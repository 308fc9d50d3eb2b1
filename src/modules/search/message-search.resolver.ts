import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import { toMessageType } from '../messages/message.mappers';
import { toConversationType } from '../conversations/conversation.mappers';
import { MessageSearchConnectionType } from './message-search.types';

@Resolver()
export class MessageSearchResolver {
  @Query(() => MessageSearchConnectionType, {
    description: "Full-text search over the viewer's user and assistant messages, best match first, with highlighted snippets.",
  })
  async searchMessages(
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
    @Arg('query', () => String, { description: 'Words to find; websearch syntax: "quoted phrase", OR, -exclude.' }) query: string,
    @Arg('first', () => Int, { nullable: true, description: 'Page size (1–100, default 20).' }) first?: number,
    @Arg('after', () => String, { nullable: true, description: 'Cursor to continue after.' }) after?: string,
  ): Promise<MessageSearchConnectionType> {
    const page = await ctx.services.search.messages(ctx, viewer, { query, first, after });
    return {
      pageInfo: page.pageInfo,
      edges: page.edges.map((e) => ({
        cursor: e.cursor,
        node: toMessageType(e.node.message),
        conversation: toConversationType(e.node.conversation),
        snippet: e.node.snippet,
        rank: e.node.rank,
      })),
    };
  }
}
