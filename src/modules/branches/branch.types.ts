import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { ForkMode } from './fork';

registerEnumType(ForkMode, {
  name: 'ForkMode',
  description: 'What forkConversation copies.',
  valuesConfig: {
    PATH: { description: 'The branch from the root to the message.' },
    BRANCHES: { description: 'The branch to the message plus every branch below it.' },
    SUBTREE: { description: 'Only the message and everything below it; the message becomes the root.' },
  },
});

@ObjectType('ForkOrigin', { description: 'The conversation and message a conversation was forked from.' })
export class ForkOriginType {
  @Field(() => ID, { description: 'The source conversation (it may since have been deleted).' })
  conversationId!: string;

  @Field(() => ID, { description: 'The message the fork was made at.' })
  messageId!: string;

  @Field(() => ForkMode, { description: 'What was copied.' })
  mode!: ForkMode;
}

@ObjectType('MessageEdit', { description: 'One in-place edit of a message.' })
export class MessageEditType {
  @Field({ description: 'When the edit was made.' })
  at!: Date;

  @Field({ description: 'The content before this edit.' })
  previousContent!: string;
}
