import { Field, Float, ObjectType } from 'type-graphql';
import { PageInfo } from '../../server/relay';
import { MessageType } from '../messages/message.types';
import { ConversationType } from '../conversations/conversation.types';

@ObjectType('MessageSearchEdge', { description: 'One message matching a full-text search.' })
export class MessageSearchEdgeType {
  @Field({ description: 'Opaque cursor of this edge.' })
  cursor!: string;

  @Field(() => MessageType, { description: 'The matching message.' })
  node!: MessageType;

  @Field(() => ConversationType, { description: 'The conversation the message belongs to.' })
  conversation!: ConversationType;

  @Field({
    description: 'Excerpt around the matches, HTML-safe: the content is escaped and each match is wrapped in <b>…</b>.',
  })
  snippet!: string;

  @Field(() => Float, { description: 'ts_rank score; only meaningful relative to other hits of the same query.' })
  rank!: number;
}

@ObjectType('MessageSearchConnection', { description: 'Messages matching a full-text search, best match first.' })
export class MessageSearchConnectionType {
  @Field(() => [MessageSearchEdgeType], { description: 'The page of hits.' })
  edges!: MessageSearchEdgeType[];

  @Field(() => PageInfo, { description: 'Paging information.' })
  pageInfo!: PageInfo;
}
