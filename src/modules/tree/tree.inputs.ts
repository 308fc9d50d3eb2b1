import { Field, ID, InputType } from 'type-graphql';

@InputType({ description: 'Which branch a conversation shows and continues.' })
export class SetActiveLeafInput {
  @Field(() => ID, { description: 'The conversation.' })
  conversationId!: string;

  @Field(() => ID, {
    description:
      'A message of the conversation. It need not be a leaf: the active branch is the path from the root to it, and the next sendMessage answers it.',
  })
  messageId!: string;
}
