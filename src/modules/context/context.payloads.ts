import { Field, ObjectType } from 'type-graphql';
import { MessageType } from '../messages/message.types';

@ObjectType({ description: 'Result of pinMessage.' })
export class PinMessagePayload {
  @Field(() => MessageType, { description: 'The message, with its new pinned state.' })
  message!: MessageType;
}

@ObjectType({ description: 'Result of excludeMessage.' })
export class ExcludeMessagePayload {
  @Field(() => MessageType, { description: 'The message, with its new excluded state.' })
  message!: MessageType;
}

@ObjectType({ description: 'Result of mergeBranches.' })
export class MergeBranchesPayload {
  @Field(() => MessageType, {
    description: "The USER message appended to the target branch (now the active leaf), carrying the source branch's turns.",
  })
  message!: MessageType;
}
