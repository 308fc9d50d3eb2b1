import { registerEnumType } from 'type-graphql';

export enum ConversationFormat {
  PARLEY = 'PARLEY',
  OPENAI_MESSAGES = 'OPENAI_MESSAGES',
}

registerEnumType(ConversationFormat, {
  name: 'ConversationFormat',
  description: 'A document format for exportConversation and importConversation.',
  valuesConfig: {
    PARLEY: {
      description:
        'The whole tree: { version: 1, conversation { title tags settings activeLeafId }, messages: [{ id parentId role content reasoning toolCalls toolCallId model usage latencyMs status createdAt pinned excluded }] }, parents before children.',
    },
    OPENAI_MESSAGES: {
      description:
        'One branch as the `messages` array of an OpenAI chat completion request: [{ role: system|user|assistant|tool, content, tool_calls?, tool_call_id? }]. ' +
        'Only SYSTEM messages on the branch appear (the systemPrompt setting is not added); tool calls no TOOL message answers are left out. ' +
        'On import, `developer` counts as system and content may be text parts; the messages become one branch.',
    },
  },
});
