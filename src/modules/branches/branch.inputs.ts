import { Field, ID, InputType } from 'type-graphql';
import { ForkMode } from './fork';

@InputType({ description: 'A new version of a message.' })
export class EditMessageInput {
  @Field(() => ID, { description: 'The message to edit.' })
  messageId!: string;

  @Field({ description: 'The new content.' })
  content!: string;

  @Field({
    nullable: true,
    description:
      'false (default): a USER message gets a new sibling with this content on a new branch, and a run answers it. ' +
      'true: change the content where it is (USER or SYSTEM), keeping the old text in the edit history; no run.',
  })
  inPlace?: boolean;
}

@InputType({ description: 'Another answer to the message an assistant message answered.' })
export class RegenerateMessageInput {
  @Field(() => ID, { description: 'The ASSISTANT message to answer again.' })
  messageId!: string;

  @Field({ nullable: true, description: 'Model for the new answer as provider/model (default: as for startRun).' })
  model?: string;

  @Field(() => ID, { nullable: true, description: 'Agent for the new answer (default: the conversation\'s agent).' })
  agentId?: string;
}

@InputType({ description: 'Copies part of a conversation tree into a new conversation.' })
export class ForkConversationInput {
  @Field(() => ID, { description: 'The message to fork at.' })
  messageId!: string;

  @Field(() => ForkMode, { description: 'What to copy.' })
  mode!: ForkMode;

  @Field({ nullable: true, description: 'Title of the new conversation (default: the source title with " (fork)").' })
  title?: string;
}

@InputType({ description: 'Several models answering the same user message at once.' })
export class CompareModelsInput {
  @Field(() => ID, { description: 'The conversation.' })
  conversationId!: string;

  @Field(() => ID, { description: 'The USER message every model answers.' })
  parentId!: string;

  @Field(() => [String], { description: '2 to 5 distinct model ids as provider/model.' })
  models!: string[];
}
