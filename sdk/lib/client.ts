import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import {
  AgentDocument,
  AgentsDocument,
  AppendMessageDocument,
  CancelRunDocument,
  ConversationDocument,
  ConversationsDocument,
  CreateAgentDocument,
  CreateConversationDocument,
  DeleteAgentDocument,
  DeleteConversationDocument,
  EditMessageDocument,
  ForkConversationDocument,
  MessageDocument,
  ModelsDocument,
  RegenerateMessageDocument,
  RunDocument,
  SendMessageDocument,
  StartRunDocument,
  SubmitToolOutputsDocument,
  ToolsDocument,
  UpdateAgentDocument,
  UpdateConversationDocument,
  ViewerDocument,
  type AgentFieldsFragment,
  type AgentsQuery,
  type AgentsQueryVariables,
  type AppendMessageInput,
  type ConversationFieldsFragment,
  type ConversationQuery,
  type ConversationQueryVariables,
  type ConversationsQuery,
  type ConversationsQueryVariables,
  type CreateAgentInput,
  type CreateConversationInput,
  type EditMessageInput,
  type EditMessageMutation,
  type ForkConversationInput,
  type ForkConversationMutation,
  type MessageFieldsFragment,
  type MessageQuery,
  type ModelsQuery,
  type RegenerateMessageInput,
  type RunFieldsFragment,
  type RunQuery,
  type SendMessageInput,
  type StartRunInput,
  type SubmitToolOutputsInput,
  type SubmitToolOutputsMutation,
  type ToolsQuery,
  type UpdateAgentInput,
  type UpdateConversationInput,
  type ViewerQuery,
} from '../generated/graphql.js';
import { createRequester, type FetchLike, type RequestOptions, type Requester } from './http.js';
import { lazySocket } from './socket.js';
import { ChatStream, RunStream, subscribeOnce, type RunStreamOptions, type StreamContext, type SubscribeOptions } from './stream.js';

export interface ParleyClientOptions {
  /** The GraphQL endpoint, e.g. `http://localhost:4000/graphql`. */
  url: string;
  /** API key (or a long-lived JWT), sent as `Authorization: Bearer …` over HTTP and WebSocket. */
  apiKey?: string;
  /** Asked before every request and every (re)connect: for rotating tokens. Wins over `apiKey`. */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** WebSocket endpoint for streams; default: `url` with ws:// or wss://. */
  wsUrl?: string;
  /** A fetch implementation; the global one by default. */
  fetch?: FetchLike;
  /**
   * A WebSocket class for streams. Default: the global WebSocket (browsers,
   * Node 22+), else the `ws` package when installed (Node 20: `npm install ws`).
   */
  webSocketImpl?: unknown;
  /** Extra headers sent with every HTTP request. */
  headers?: Record<string, string>;
  /** Ping interval of the stream socket; a pong missing for as long drops it (streams reconnect). Default 15 s; 0: off. */
  keepAliveMs?: number;
}

/** A conversation as the mutations and lists return it (ConversationFields). */
export type Conversation = ConversationFieldsFragment;
/** A message as the mutations return it (MessageFields). */
export type Message = MessageFieldsFragment;
/** A run as the mutations return it (RunFields); `runs.get` returns more. */
export type Run = RunFieldsFragment;
export type Agent = AgentFieldsFragment;

/** Variables may be omitted when the operation has no required ones. */
type SubscribeArgs<TVars> = Record<string, never> extends TVars
  ? [variables?: TVars, options?: SubscribeOptions]
  : [variables: TVars, options?: SubscribeOptions];

export interface ChatSendOptions extends Omit<RunStreamOptions, 'after'> {
  /** Headers for the sendMessage request. */
  headers?: Record<string, string>;
}

/**
 * The Parley client. `request()` runs any operation of the SDK (every
 * `…Document` export, typed); the namespaces wrap the common ones and return
 * the payload's object directly.
 */
export class ParleyClient {
  /** Runs a query or mutation document; resolves to its typed `data`, rejects with a ParleyError. */
  readonly request: Requester;
  private readonly stream: StreamContext;
  private readonly closeSocket: () => Promise<void>;

  constructor(options: ParleyClientOptions) {
    if (!options?.url) throw new TypeError('createParleyClient: `url` is required (e.g. http://localhost:4000/graphql)');
    const globalFetch = (globalThis as { fetch?: FetchLike }).fetch?.bind(globalThis);
    const fetchImpl = options.fetch ?? globalFetch;
    if (!fetchImpl) throw new TypeError('No fetch implementation: pass `fetch` to createParleyClient');
    const authorization = async () => {
      const token = options.getToken ? await options.getToken() : options.apiKey;
      return token ? `Bearer ${token}` : undefined;
    };
    this.request = createRequester({ url: options.url, fetch: fetchImpl, headers: options.headers, authorization });
    const wsUrl = options.wsUrl ?? options.url.replace(/^http/i, 'ws');
    const socket = lazySocket({ url: wsUrl, webSocketImpl: options.webSocketImpl, authorization, keepAliveMs: options.keepAliveMs ?? 15_000 });
    this.stream = { socket: () => socket.client(), wsUrl };
    this.closeSocket = () => socket.dispose();
  }

  /** Any subscription document, typed (e.g. ConversationEventsDocument); no resume: see runs.stream for runs. */
  subscribe<TResult, TVars>(doc: TypedDocumentNode<TResult, TVars>, ...[variables, options]: SubscribeArgs<TVars>): AsyncGenerator<TResult, void, undefined> {
    return subscribeOnce(this.stream, doc, (variables ?? {}) as TVars, options);
  }

  /** Closes the stream socket (open streams end with an error). HTTP needs no closing. */
  close(): Promise<void> {
    return this.closeSocket();
  }

  /** The caller: user, role and API keys. */
  async viewer(options?: RequestOptions): Promise<ViewerQuery['viewer']> {
    return (await this.request(ViewerDocument, {}, options)).viewer;
  }

  /** Models the server can run (`provider/model` ids, prices, capabilities). */
  async models(options?: RequestOptions): Promise<ModelsQuery['models']> {
    return (await this.request(ModelsDocument, {}, options)).models;
  }

  /** Server-side tools a run can use. */
  async tools(options?: RequestOptions): Promise<ToolsQuery['tools']> {
    return (await this.request(ToolsDocument, {}, options)).tools;
  }

  readonly conversations = {
    create: async (input: CreateConversationInput, options?: RequestOptions): Promise<Conversation> =>
      (await this.request(CreateConversationDocument, { input }, options)).createConversation.conversation,
    /** One conversation with a page of the branch from its root to `leafId` (the active leaf by default). */
    get: async (id: string, page: Omit<ConversationQueryVariables, 'id'> = {}, options?: RequestOptions): Promise<ConversationQuery['conversation']> =>
      (await this.request(ConversationDocument, { ...page, id }, options)).conversation,
    list: async (variables: ConversationsQueryVariables = {}, options?: RequestOptions): Promise<ConversationsQuery['conversations']> =>
      (await this.request(ConversationsDocument, variables, options)).conversations,
    update: async (input: UpdateConversationInput, options?: RequestOptions): Promise<Conversation> =>
      (await this.request(UpdateConversationDocument, { input }, options)).updateConversation.conversation,
    /** Resolves to the deleted conversation's id. */
    delete: async (id: string, options?: RequestOptions): Promise<string> =>
      (await this.request(DeleteConversationDocument, { input: { conversationId: id } }, options)).deleteConversation.deletedConversationId,
    fork: async (input: ForkConversationInput, options?: RequestOptions): Promise<ForkConversationMutation['forkConversation']['conversation']> =>
      (await this.request(ForkConversationDocument, { input }, options)).forkConversation.conversation,
  };

  readonly messages = {
    /** Appends a message without starting a run (use chat.send to get a reply). */
    append: async (input: AppendMessageInput, options?: RequestOptions): Promise<Message> =>
      (await this.request(AppendMessageDocument, { input }, options)).appendMessage.message,
    get: async (id: string, options?: RequestOptions): Promise<MessageQuery['message']> => (await this.request(MessageDocument, { id }, options)).message,
    /** A new sibling with the edited content, and the run answering it. */
    edit: async (input: EditMessageInput, options?: RequestOptions): Promise<EditMessageMutation['editMessage']> => (await this.request(EditMessageDocument, { input }, options)).editMessage,
    /** A new run answering the same message again (stream it with runs.stream). */
    regenerate: async (input: RegenerateMessageInput, options?: RequestOptions): Promise<Run> =>
      (await this.request(RegenerateMessageDocument, { input }, options)).regenerateMessage.run,
  };

  readonly chat = {
    /**
     * Sends a user message and streams the reply run: resolves once the
     * message is stored and the run created (rejecting with a ParleyError
     * otherwise), to a stream of the run's events.
     *
     *   const stream = await parley.chat.send({ conversationId, content: 'Hi' });
     *   for await (const e of stream) if (e.__typename === 'TokenDelta') process.stdout.write(e.text);
     */
    send: async (input: SendMessageInput, options: ChatSendOptions = {}): Promise<ChatStream> => {
      const { headers, ...streamOptions } = options;
      const { sendMessage } = await this.request(SendMessageDocument, { input }, { signal: options.signal, headers });
      return new ChatStream(this.stream, sendMessage, streamOptions);
    },
  };

  readonly runs = {
    get: async (id: string, options?: RequestOptions): Promise<RunQuery['run']> => (await this.request(RunDocument, { id }, options)).run,
    /** Starts a run on a conversation (no new message); stream it with runs.stream. */
    start: async (input: StartRunInput, options?: RequestOptions): Promise<Run> => (await this.request(StartRunDocument, { input }, options)).startRun.run,
    cancel: async (runId: string, options?: RequestOptions): Promise<Run> =>
      (await this.request(CancelRunDocument, { input: { runId } }, options)).cancelRun.run,
    /** Answers a run waiting in REQUIRES_ACTION with the outputs of its client tool calls. */
    submitToolOutputs: async (input: SubmitToolOutputsInput, options?: RequestOptions): Promise<SubmitToolOutputsMutation['submitToolOutputs']['run']> =>
      (await this.request(SubmitToolOutputsDocument, { input }, options)).submitToolOutputs.run,
    /** The run's events after `after`, each once, across dropped sockets; ends after the terminal event. */
    stream: (runId: string, options: RunStreamOptions = {}): RunStream => new RunStream(this.stream, runId, options),
  };

  readonly agents = {
    list: async (variables: AgentsQueryVariables = {}, options?: RequestOptions): Promise<AgentsQuery['agents']> => (await this.request(AgentsDocument, variables, options)).agents,
    get: async (id: string, options?: RequestOptions): Promise<Agent> => (await this.request(AgentDocument, { id }, options)).agent,
    create: async (input: CreateAgentInput, options?: RequestOptions): Promise<Agent> => (await this.request(CreateAgentDocument, { input }, options)).createAgent.agent,
    update: async (input: UpdateAgentInput, options?: RequestOptions): Promise<Agent> => (await this.request(UpdateAgentDocument, { input }, options)).updateAgent.agent,
    /** Resolves to the deleted agent's id. */
    delete: async (id: string, options?: RequestOptions): Promise<string> =>
      (await this.request(DeleteAgentDocument, { input: { agentId: id } }, options)).deleteAgent.deletedAgentId,
  };
}

/**
 * A Parley client:
 *
 *   const parley = createParleyClient({ url: 'http://localhost:4000/graphql', apiKey: process.env.PARLEY_API_KEY });
 */
export function createParleyClient(options: ParleyClientOptions): ParleyClient {
  return new ParleyClient(options);
}
