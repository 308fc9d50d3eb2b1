import { Field, ObjectType } from 'type-graphql';
import { MessageType } from '../messages/message.types';
import { RunObject } from './run.types';

@ObjectType({ description: 'Result of sendMessage.' })
export class SendMessagePayload {
  @Field(() => MessageType, { description: 'The stored user message.' })
  message!: MessageType;

  @Field(() => RunObject, { description: 'The run answering it (QUEUED); subscribe to runEvents(runId).' })
  run!: RunObject;
}

@ObjectType({ description: 'Result of startRun.' })
export class StartRunPayload {
  @Field(() => RunObject, { description: 'The new run.' })
  run!: RunObject;
}

@ObjectType({ description: 'Result of cancelRun.' })
export class CancelRunPayload {
  @Field(() => RunObject, { description: 'The run, CANCELLED or CANCELLING.' })
  run!: RunObject;
}

@ObjectType({ description: 'Result of submitToolOutputs.' })
export class SubmitToolOutputsPayload {
  @Field(() => RunObject, { description: 'The resumed run.' })
  run!: RunObject;
}
