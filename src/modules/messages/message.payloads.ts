import { Field, ObjectType } from 'type-graphql';
import { MessageType } from './message.types';

@ObjectType({ description: 'Result of appendMessage.' })
export class AppendMessagePayload {
  @Field(() => MessageType, { description: 'The new message.' })
  message!: MessageType;
}
