import { Field, Int, ObjectType } from 'type-graphql';
import { ConversationType } from '../conversations/conversation.types';

@ObjectType({ description: 'Result of importConversation.' })
export class ImportConversationPayload {
  @Field(() => ConversationType, { description: 'The new conversation; its active leaf is the one the document named, else its last message.' })
  conversation!: ConversationType;

  @Field(() => Int, { description: 'Messages imported.' })
  messageCount!: number;
}
