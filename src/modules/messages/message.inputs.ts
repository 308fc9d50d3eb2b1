import { Field, ID, InputType } from 'type-graphql';
import { MessageRole } from './message.entity';

@InputType('ToolCallInput', { description: 'A tool call carried by an imported assistant message.' })
export class ToolCallInput {
  @Field({ description: 'Call id.' })
  id!: string;

  @Field({ description: 'Tool name.' })
  name!: string;

  @Field({ description: 'Arguments as JSON text.' })
  arguments!: string;
}

@InputType({ description: 'A message to add to the tree without starting a run (imports, tests, human turns).' })
export class AppendMessageInput {
  @Field(() => ID, { description: 'The conversation.' })
  conversationId!: string;

  @Field(() => ID, {
    nullable: true,
    description: 'Parent message; defaults to the active leaf. Use asRoot for a new root.',
  })
  parentId?: string;

  @Field({ nullable: true, description: 'true: add as a new root even if the conversation has messages.' })
  asRoot?: boolean;

  @Field(() => MessageRole, { description: 'Author role.' })
  role!: MessageRole;

  @Field({ description: 'Text content.' })
  content!: string;

  @Field(() => String, { nullable: true, description: 'Reasoning text, for imported assistant messages.' })
  reasoning?: string;

  @Field(() => [ToolCallInput], { nullable: true, description: 'Tool calls, for assistant messages.' })
  toolCalls?: ToolCallInput[];

  @Field(() => String, { nullable: true, description: 'For TOOL messages: the call answered.' })
  toolCallId?: string;

  @Field(() => String, { nullable: true, description: 'Model that wrote an imported assistant message.' })
  model?: string;

  @Field({ defaultValue: true, description: 'Make the new message the active leaf (default true).' })
  setActive!: boolean;
}
