import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { MessageRole, MessageStatus } from './message.entity';
import { ConnectionType } from '../../server/relay';
import { UsageType } from '../usage/usage.types';

registerEnumType(MessageRole, { name: 'MessageRole', description: 'Who wrote a message.' });
registerEnumType(MessageStatus, {
  name: 'MessageStatus',
  description: 'COMPLETE, or INCOMPLETE when a run was cancelled or cut short while writing it.',
});

@ObjectType('ToolCall', { simpleResolvers: true, description: 'A tool call requested by the assistant.' })
export class ToolCallType {
  @Field({ description: 'Call id; a TOOL message answers it with the same toolCallId.' })
  id!: string;

  @Field({ description: 'Tool name.' })
  name!: string;

  @Field({ description: 'Arguments as JSON text, exactly as the model produced them.' })
  arguments!: string;
}

// simpleResolvers: plain properties are read by graphql's default resolver instead of a type-graphql
// wrapper per field and message (a list page shows a thousand messages); field resolvers are unaffected.
@ObjectType('Message', { simpleResolvers: true, description: 'A node of a conversation tree.' })
export class MessageType {
  @Field(() => ID, { description: 'Stable id (UUIDv7; sorts by creation).' })
  id!: string;

  @Field(() => MessageRole, { description: 'Author role.' })
  role!: MessageRole;

  @Field({ description: 'Text content.' })
  content!: string;

  @Field(() => String, { nullable: true, description: 'Reasoning the model streamed before answering, if any.' })
  reasoning!: string | null;

  @Field(() => [ToolCallType], { description: 'Tool calls requested by an assistant message.' })
  toolCalls!: ToolCallType[];

  @Field(() => String, { nullable: true, description: 'For TOOL messages: the call this answers.' })
  toolCallId!: string | null;

  @Field(() => String, { nullable: true, description: 'Model that wrote an assistant message.' })
  model!: string | null;

  @Field(() => MessageStatus, { description: 'Whether the message was written to the end.' })
  status!: MessageStatus;

  @Field(() => Int, { description: 'Distance from the root (0 for a root message).' })
  depth!: number;

  @Field(() => UsageType, { description: 'Tokens and cost of producing this message.' })
  usage!: UsageType;

  @Field(() => Int, { nullable: true, description: 'Milliseconds from request to last token, for generated messages.' })
  latencyMs!: number | null;

  @Field({ description: 'Creation time.' })
  createdAt!: Date;

  @Field({ description: 'Always sent to the model under the PINNED_FIRST and HYBRID context strategies (see pinMessage).' })
  pinned!: boolean;

  @Field({ description: 'Never sent to a model, though it stays in the tree (see excludeMessage).' })
  excluded!: boolean;

  conversationId!: string;
  parentId!: string | null;
  agentId!: string | null;
  runId!: string | null;
}

export const MessageConnection = ConnectionType('Message', MessageType, 'A page of messages along a branch, root first.');
