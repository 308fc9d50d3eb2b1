/**
 * JSON Schema (draft-07) for a tool's arguments. Providers take an object schema
 * for function tools, so the root is always `type: 'object'`.
 */
export interface ToolParametersSchema {
  type: 'object';
  properties?: Record<string, unknown>;
  required?: string[];
  additionalProperties?: boolean;
  [keyword: string]: unknown;
}

/** One full-text match in the viewer's own messages, shaped for a model to read. */
export interface MessageSearchHit {
  conversationId: string;
  conversationTitle: string;
  messageId: string;
  role: string;
  /** Excerpt around the matched terms; matches are wrapped in `**`. */
  snippet: string;
  /** ts_rank score; only meaningful relative to other hits of the same query. */
  rank: number;
  /** ISO 8601, so hits survive JSON unchanged. */
  createdAt: string;
}

/**
 * What a tool may use from the run executing it. Kept deliberately small: tools
 * never see the entity manager or the request, so the engine decides what they
 * can reach and ownership stays enforced in one place.
 */
export interface ToolContext {
  viewerId: string;
  /** Aborted when the run is cancelled or the tool times out; long tools should honour it. */
  signal: AbortSignal;
  /** Searches only the viewer's messages; bound by the engine to the run's entity manager. */
  searchMessages(query: string, limit: number): Promise<MessageSearchHit[]>;
}

/**
 * A tool the model can call. `execute` receives arguments already validated
 * against `parameters`; whatever it throws becomes an error result the model sees.
 * `execute` is declared as a method so a `ToolDefinition<{ x: string }>` can be
 * registered where `ToolDefinition<unknown>` is expected.
 */
export interface ToolDefinition<Args = unknown> {
  /** Name the model calls; OpenAI requires `^[a-zA-Z0-9_-]{1,64}$`. */
  name: string;
  description: string;
  parameters: ToolParametersSchema;
  /** When set, results are cached for this many seconds: only for pure, deterministic tools. */
  cacheTtlSeconds?: number;
  /** Overrides the registry's default timeout for slow tools. */
  timeoutMs?: number;
  execute(args: Args, ctx: ToolContext): Promise<unknown>;
}

/** The `{ name, description, parameters }` triple a provider's function-tool list takes. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: ToolParametersSchema;
}

/** Outcome of one tool call; errors are data here, so a failing tool never crashes a run. */
export interface ToolResult {
  /** What the model sees: JSON text, plain text, or an error message. */
  output: string;
  isError: boolean;
  cached: boolean;
  durationMs: number;
}
