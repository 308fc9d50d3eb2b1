import { Field, ID, InputType, Int } from 'type-graphql';
import { ConversationSettingsInput } from './conversation.types';

@InputType({ description: 'A new conversation.' })
export class CreateConversationInput {
  @Field({ nullable: true, description: 'Title (default "New conversation").' })
  title?: string;

  @Field(() => [String], { nullable: true, description: 'Tags.' })
  tags?: string[];

  @Field(() => ConversationSettingsInput, { nullable: true, description: 'Run defaults.' })
  settings?: ConversationSettingsInput;

  @Field(() => ID, { nullable: true, description: 'Default agent for runs in this conversation.' })
  agentId?: string;
}

@InputType({ description: 'Changes to a conversation; omitted fields stay as they are.' })
export class UpdateConversationInput {
  @Field(() => ID, { description: 'The conversation.' })
  conversationId!: string;

  @Field({ nullable: true, description: 'New title.' })
  title?: string;

  @Field(() => [String], { nullable: true, description: 'Replace all tags.' })
  tags?: string[];

  @Field(() => [String], { nullable: true, description: 'Tags to add.' })
  addTags?: string[];

  @Field(() => [String], { nullable: true, description: 'Tags to remove.' })
  removeTags?: string[];

  @Field(() => ConversationSettingsInput, { nullable: true, description: 'Settings to change (null clears a setting).' })
  settings?: ConversationSettingsInput;

  @Field(() => ID, { nullable: true, description: 'New default agent.' })
  agentId?: string;

  @Field({ nullable: true, description: 'true removes the default agent.' })
  clearAgent?: boolean;

  @Field({ nullable: true, description: 'Archive (true) or unarchive (false).' })
  archived?: boolean;

  @Field(() => Int, { nullable: true, description: 'Fail with CONFLICT unless the conversation is at this version.' })
  expectedVersion?: number;
}

@InputType({ description: 'Which conversation to delete.' })
export class DeleteConversationInput {
  @Field(() => ID, { description: 'The conversation.' })
  conversationId!: string;
}
