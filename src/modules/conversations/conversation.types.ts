import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType } from '../../server/relay';
import { MessageType } from '../messages/message.types';
import { ContextStrategy } from '../context/context.types';

@ObjectType('ConversationSettings', { simpleResolvers: true, description: 'Defaults used by runs in this conversation when no agent is given.' })
export class ConversationSettingsType {
  @Field(() => String, { nullable: true, description: 'Model id as `provider/model`.' })
  model!: string | null;

  @Field(() => String, { nullable: true, description: 'System prompt sent first in every run.' })
  systemPrompt!: string | null;

  @Field(() => Float, { nullable: true, description: 'Sampling temperature (0–2).' })
  temperature!: number | null;

  @Field(() => ContextStrategy, { description: "How branches longer than the model's context window are cut down (SLIDING_WINDOW by default)." })
  contextStrategy!: ContextStrategy;
}

@InputType('ConversationSettingsInput', { description: 'Conversation defaults; omitted fields stay as they are.' })
export class ConversationSettingsInput {
  @Field(() => String, { nullable: true, description: 'Model id as `provider/model`.' })
  model?: string | null;

  @Field(() => String, { nullable: true, description: 'System prompt.' })
  systemPrompt?: string | null;

  @Field(() => Float, { nullable: true, description: 'Sampling temperature (0–2).' })
  temperature?: number | null;

  @Field(() => ContextStrategy, { nullable: true, description: 'Context strategy; null restores SLIDING_WINDOW.' })
  contextStrategy?: ContextStrategy | null;
}

// simpleResolvers: as on Message, plain properties need no per-field wrapper.
@ObjectType('Conversation', { simpleResolvers: true, description: 'A conversation: a tree of messages with one active branch.' })
export class ConversationType {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  @Field({ description: 'Title.' })
  title!: string;

  @Field(() => [String], { description: 'Lower-case tags.' })
  tags!: string[];

  @Field(() => ConversationSettingsType, { description: 'Run defaults.' })
  settings!: ConversationSettingsType;

  @Field(() => Date, { nullable: true, description: 'When the conversation was archived; archived ones are hidden from lists by default.' })
  archivedAt!: Date | null;

  @Field(() => Int, { description: 'Version for optimistic concurrency; pass it as expectedVersion to updateConversation.' })
  version!: number;

  @Field({ description: 'Creation time.' })
  createdAt!: Date;

  @Field({ description: 'Last change to the conversation or its messages.' })
  updatedAt!: Date;

  ownerId!: string;
  agentId!: string | null;
  activeLeafId!: string | null;
}

export const ConversationConnection = ConnectionType(
  'Conversation',
  ConversationType,
  'A page of conversations, most recently updated first (best match first when searching).',
);

@InputType({ description: 'Narrows a conversation list.' })
export class ConversationFilter {
  @Field(() => String, { nullable: true, description: 'Only conversations carrying this tag.' })
  tag?: string;

  @Field(() => Boolean, { nullable: true, description: 'true: only archived; false (default): only active.' })
  archived?: boolean;

  @Field(() => String, {
    nullable: true,
    description:
      'Text the title contains (case-insensitive) or that a message matches (full-text, websearch syntax); results are then ordered by best match.',
  })
  search?: string;

  @Field(() => String, { nullable: true, description: 'Only conversations with a message or run by this model (`provider/model`).' })
  model?: string;

  @Field(() => ID, { nullable: true, description: 'Only conversations with this default agent or a run that used it.' })
  agentId?: string;

  @Field(() => Date, { nullable: true, description: 'Only conversations updated at or after this time.' })
  from?: Date;

  @Field(() => Date, { nullable: true, description: 'Only conversations updated before this time.' })
  to?: Date;

  @Field(() => Float, { nullable: true, description: 'Only conversations whose total cost in US dollars is at least this.' })
  minCost?: number;
}

export enum ConversationEventType {
  MESSAGE_ADDED = 'MESSAGE_ADDED',
  CONVERSATION_UPDATED = 'CONVERSATION_UPDATED',
  CONVERSATION_DELETED = 'CONVERSATION_DELETED',
}
registerEnumType(ConversationEventType, { name: 'ConversationEventType', description: 'What changed.' });

@ObjectType('ConversationEvent', { description: 'A change to a conversation, pushed to its owner.' })
export class ConversationEventObject {
  @Field(() => ConversationEventType, { description: 'What changed.' })
  type!: ConversationEventType;

  @Field(() => ID, { description: 'The conversation.' })
  conversationId!: string;

  @Field(() => ConversationType, { nullable: true, description: 'The conversation as it is now (null once deleted).' })
  conversation!: ConversationType | null;

  @Field(() => MessageType, { nullable: true, description: 'The added message, for MESSAGE_ADDED.' })
  message!: MessageType | null;

  @Field({ description: 'When the change happened.' })
  at!: Date;
}
