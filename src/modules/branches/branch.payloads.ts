import { Field, ObjectType } from 'type-graphql';
import { ConversationType } from '../conversations/conversation.types';
import { MessageType } from '../messages/message.types';
import { RunObject } from '../runs/run.types';
import { ComparisonType } from './comparison.types';

@ObjectType({ description: 'Result of editMessage.' })
export class EditMessagePayload {
  @Field(() => MessageType, { description: 'The new sibling message, or the edited one for an in-place edit.' })
  message!: MessageType;

  @Field(() => RunObject, { nullable: true, description: 'The run answering the new message (QUEUED); null for an in-place edit.' })
  run!: RunObject | null;
}

@ObjectType({ description: 'Result of regenerateMessage.' })
export class RegenerateMessagePayload {
  @Field(() => RunObject, { description: 'The run writing the new answer (QUEUED); subscribe to runEvents(runId).' })
  run!: RunObject;
}

@ObjectType({ description: 'Result of forkConversation.' })
export class ForkConversationPayload {
  @Field(() => ConversationType, { description: 'The new conversation, owned by the viewer.' })
  conversation!: ConversationType;
}

@ObjectType({ description: 'Result of compareModels.' })
export class CompareModelsPayload {
  @Field(() => ComparisonType, { description: 'The comparison and its runs (QUEUED).' })
  comparison!: ComparisonType;
}
