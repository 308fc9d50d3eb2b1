export const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } run { id status model } } }`;

export const RUN_EVENTS = `subscription($runId: ID!, $after: Int) { runEvents(runId: $runId, after: $after) {
  __typename seq runId at
  ... on RunStatusChanged { status previousStatus }
  ... on StepStarted { stepIndex stepType toolName }
  ... on ReasoningDelta { text }
  ... on TokenDelta { text }
  ... on ToolCallStarted { toolCallId name index }
  ... on ToolCallArgumentsDelta { toolCallId delta }
  ... on ToolCallCompleted { toolCallId name arguments output isError }
  ... on StepCompleted { stepIndex usage { totalTokens costUsd } }
  ... on MessageCompleted { messageId role }
  ... on RequiresAction { toolCalls { id name arguments } }
  ... on RunCompleted { status usage { promptTokens completionTokens reasoningTokens totalTokens costUsd } }
  ... on RunFailed { error { code message } }
} }`;

export interface RunEventItem {
  __typename: string;
  seq: number;
  runId: string;
  status?: string;
  text?: string;
  name?: string;
  toolCallId?: string;
  delta?: string;
  arguments?: string;
  output?: string;
  isError?: boolean;
  error?: { code: string; message: string };
  toolCalls?: { id: string; name: string; arguments: string }[];
  messageId?: string;
  usage?: { totalTokens: number; costUsd: number };
}

export type RunEventsData = { runEvents: RunEventItem };
export type SendData = { sendMessage: { message: { id: string }; run: { id: string; status: string; model: string } } };

export const RUN = `query($id: ID!) { run(id: $id) { id status error { code message } usage { promptTokens completionTokens reasoningTokens cachedTokens totalTokens costUsd }
  timeToFirstTokenMs steps { index type status toolName } pendingToolCalls { id name arguments }
  responseMessage { id content reasoning status toolCalls { id name arguments } } } }`;
