import { Field, ID, ObjectType } from 'type-graphql';
import { ConversationType } from './conversation.types';

@ObjectType({ description: 'Result of createConversation.' })
export class CreateConversationPayload {
  @Field(() => ConversationType, { description: 'The new conversation.' })
  conversation!: ConversationType;
}

@ObjectType({ description: 'Result of updateConversation.' })
export class UpdateConversationPayload {
  @Field(() => ConversationType, { description: 'The updated conversation.' })
  conversation!: ConversationType;
}

@ObjectType({ description: 'Result of deleteConversation.' })
export class DeleteConversationPayload {
  @Field(() => ID, { description: 'Id of the deleted conversation.' })
  deletedConversationId!: string;
}
