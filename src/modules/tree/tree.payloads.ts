import { Field, ObjectType } from 'type-graphql';
import { ConversationType } from '../conversations/conversation.types';

@ObjectType({ description: 'Result of setActiveLeaf.' })
export class SetActiveLeafPayload {
  @Field(() => ConversationType, { description: 'The conversation, with its new activeLeaf.' })
  conversation!: ConversationType;
}
