import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { MessageType } from '../messages/message.types';
import { RunStatus } from '../runs/run.entity';
import { RunObject } from '../runs/run.types';

@ObjectType('ComparisonEntry', { description: "One model's answer in a comparison, with its measurements." })
export class ComparisonEntryType {
  @Field({ description: 'Model id as `provider/model`.' })
  model!: string;

  @Field(() => RunObject, { description: 'The run producing this answer.' })
  run!: RunObject;

  @Field(() => MessageType, { nullable: true, description: 'The answer written so far (the run\'s last message); null before the first step ends.' })
  message!: MessageType | null;

  @Field(() => RunStatus, { description: 'State of the run.' })
  status!: RunStatus;

  @Field(() => Int, { description: 'Input tokens over every step of the run.' })
  promptTokens!: number;

  @Field(() => Int, { description: 'Output tokens over every step of the run.' })
  completionTokens!: number;

  @Field(() => Float, { description: 'Cost of the run in US dollars.' })
  costUsd!: number;

  @Field(() => Int, { nullable: true, description: 'Milliseconds from the request to the first streamed token.' })
  timeToFirstTokenMs!: number | null;

  @Field(() => Int, { nullable: true, description: 'Milliseconds from start to end; null until the run ends.' })
  durationMs!: number | null;
}

@ObjectType('Comparison', { description: 'Several models answering the same message side by side, each on its own branch.' })
export class ComparisonType {
  @Field(() => ID, { description: 'Comparison id; pass it to `comparison(id)`.' })
  id!: string;

  @Field(() => [RunObject], { description: 'The runs, in the order the models were given.' })
  runs!: RunObject[];

  @Field(() => [ComparisonEntryType], { description: 'One entry per model, in the order the models were given.' })
  entries!: ComparisonEntryType[];

  parentId!: string | null;
}
