import { Field, ID, InputType } from 'type-graphql';

@InputType({ description: 'Pins or unpins a message.' })
export class PinMessageInput {
  @Field(() => ID, { description: 'The message.' })
  messageId!: string;

  @Field({ description: 'true pins: PINNED_FIRST and HYBRID always send it. false unpins.' })
  pinned!: boolean;
}

@InputType({ description: 'Excludes a message from the model context, or includes it again.' })
export class ExcludeMessageInput {
  @Field(() => ID, { description: 'The message.' })
  messageId!: string;

  @Field({ description: 'true: never sent to a model (it stays in the tree). false: sent again.' })
  excluded!: boolean;
}

@InputType({ description: 'Brings the turns of one branch into another.' })
export class MergeBranchesInput {
  @Field(() => ID, { description: 'Leaf of the branch that receives the merge; the merge message is appended under it.' })
  targetLeafId!: string;

  @Field(() => ID, { description: 'Leaf of the branch whose turns after the fork point are brought over.' })
  sourceLeafId!: string;
}
