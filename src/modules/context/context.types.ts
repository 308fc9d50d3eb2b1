import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { MessageRole } from '../messages/message.entity';
import { ContextItemKind, ContextStrategy, DropReason } from './context-planner';

/** Re-exported from here so that whoever uses the enum in a GraphQL type also gets it registered. */
export { ContextStrategy };

registerEnumType(ContextStrategy, {
  name: 'ContextStrategy',
  description: "How a branch longer than the model's context window is cut down before it is sent.",
  valuesConfig: {
    SLIDING_WINDOW: { description: 'The system prompt and the most recent turns that fit; the oldest are dropped first (default).' },
    SUMMARIZE: { description: 'Older turns that do not fit are replaced by one summary, written once by the summary model and reused.' },
    PINNED_FIRST: { description: 'Pinned messages are always kept, then the most recent turns that fit.' },
    HYBRID: { description: 'Pinned messages verbatim, one summary of the older turns that do not fit, and the most recent turns.' },
  },
});
registerEnumType(DropReason, {
  name: 'ContextDropReason',
  description: 'Why a message of the branch was not sent.',
  valuesConfig: {
    EXCLUDED: { description: 'The message (or the tool call it answers) is excluded from the context.' },
    WINDOW: { description: 'It did not fit in the window.' },
    SUMMARIZED: { description: 'The summary stands for it.' },
  },
});
registerEnumType(ContextItemKind, {
  name: 'ContextItemKind',
  description: 'What a sent item is.',
  valuesConfig: {
    SYSTEM_PROMPT: { description: "The system prompt: the agent's or conversation's, or the branch's own root SYSTEM message." },
    SUMMARY: { description: 'The summary of older turns.' },
    MESSAGE: { description: 'A message of the branch.' },
  },
});

@ObjectType('ContextItem', { description: 'One message sent to the model, in order.' })
export class ContextItemType {
  @Field(() => ID, { nullable: true, description: 'The message sent; null for a system prompt from settings and for the summary.' })
  messageId!: string | null;

  @Field(() => MessageRole, { description: 'Chat role it is sent with.' })
  role!: MessageRole;

  @Field(() => Int, { description: 'Tokens it takes, per-message overhead and tool calls included.' })
  tokens!: number;

  @Field(() => ContextItemKind, { description: 'What the item is.' })
  kind!: ContextItemKind;
}

@ObjectType('DroppedContextItem', { description: 'A message of the branch that was not sent.' })
export class DroppedContextItemType {
  @Field(() => ID, { description: 'The message.' })
  messageId!: string;

  @Field(() => Int, { description: 'Tokens it would have taken.' })
  tokens!: number;

  @Field(() => DropReason, { description: 'Why it was not sent.' })
  reason!: DropReason;
}

@ObjectType('ContextSummary', { description: 'The summary sent in place of older turns.' })
export class ContextSummaryType {
  @Field({ description: 'Summary text (sent inside a short framing system message).' })
  content!: string;

  @Field(() => Int, { description: 'Tokens its message takes.' })
  tokens!: number;

  @Field(() => Int, { description: 'How many messages it stands for.' })
  messageCount!: number;

  @Field(() => ID, { description: 'The last message it covers; the summary is reused by every branch through it.' })
  throughMessageId!: string;
}

@ObjectType('ContextPlan', { description: 'What a model call is sent: every item with its tokens, and what was dropped or summarized.' })
export class ContextPlanType {
  @Field(() => ContextStrategy, { description: 'Strategy applied.' })
  strategy!: ContextStrategy;

  @Field({ description: 'Model id as `provider/model`; tokens are counted with its tokenizer.' })
  model!: string;

  @Field(() => Int, { description: "The model's context window in tokens." })
  contextWindow!: number;

  @Field(() => Int, { description: 'Tokens kept free for the answer.' })
  reservedOutputTokens!: number;

  @Field(() => Int, { description: 'Tokens the prompt may use: the window minus the reserved output.' })
  budgetTokens!: number;

  @Field(() => Int, { description: 'Tokens the prompt uses: items, tool definitions and reply priming.' })
  usedTokens!: number;

  @Field(() => Int, { description: 'Tokens of the tool definitions sent with the messages.' })
  toolTokens!: number;

  @Field(() => [ContextItemType], { description: 'Items sent, in order.' })
  items!: ContextItemType[];

  @Field(() => [DroppedContextItemType], { description: 'Messages of the branch not sent, root first.' })
  dropped!: DroppedContextItemType[];

  @Field(() => ContextSummaryType, { nullable: true, description: 'The summary sent, if any.' })
  summary!: ContextSummaryType | null;

  @Field(() => String, { nullable: true, description: 'Why a needed summary could not be written (its turns were dropped instead).' })
  summaryError!: string | null;
}
