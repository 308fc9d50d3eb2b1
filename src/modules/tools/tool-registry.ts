import { createHash } from 'node:crypto';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { stringify } from 'safe-stable-stringify';
import type { ToolCache } from './tool-cache';
import type { ToolContext, ToolDefinition, ToolResult, ToolSpec } from './tool.types';

/** OpenAI's rule for function names; enforced at registration so a bad name fails at boot. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_REPORTED_ERRORS = 5;

export interface ToolRegistryOptions {
  /** Required for `cacheTtlSeconds` to have any effect. */
  cache?: ToolCache;
  /** Per-call limit when a tool sets no `timeoutMs`; a stuck tool must not hang a run. */
  defaultTimeoutMs?: number;
  /** Longer outputs are cut, because the model's context window pays for every character. */
  maxOutputChars?: number;
  /** Cache failures never fail a call; this hook lets the caller log them. */
  onCacheError?: (error: unknown) => void;
}

interface RegisteredTool {
  definition: ToolDefinition;
  validate: ValidateFunction;
}

/**
 * Cache key for a call: arguments are canonicalised (sorted keys) before hashing,
 * so `{a,b}` and `{b,a}` share a result, and the key length stays bounded.
 */
export function toolCacheKey(name: string, args: unknown): string {
  const canonical = stringify(args) ?? 'null';
  return `${name}:${createHash('sha256').update(canonical).digest('hex')}`;
}

/**
 * Holds the tools a run may call and executes calls from the model. Every
 * failure mode (unknown tool, bad JSON, invalid arguments, throw, timeout)
 * becomes an error `ToolResult` the model can read and react to, never a throw.
 */
export class ToolRegistry {
  private readonly tools = new Map<string, RegisteredTool>();
  private readonly ajv = new Ajv({ allErrors: true, strict: true });
  private readonly defaultTimeoutMs: number;
  private readonly maxOutputChars: number;

  constructor(private readonly options: ToolRegistryOptions = {}) {
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
    this.maxOutputChars = options.maxOutputChars ?? 16_000;
  }

  /** Compiles the schema once, here, so a malformed schema fails at startup, not mid-run. */
  register(definition: ToolDefinition): this {
    if (!TOOL_NAME.test(definition.name)) throw new Error(`Invalid tool name "${definition.name}"`);
    if (this.tools.has(definition.name)) throw new Error(`Tool "${definition.name}" is already registered`);
    const validate = this.ajv.compile(definition.parameters);
    this.tools.set(definition.name, { definition, validate });
    return this;
  }

  /** All definitions, in registration order; backs the `tools` query. */
  list(): ToolDefinition[] {
    return [...this.tools.values()].map((t) => t.definition);
  }

  /** Lets callers (agent validation, the `tools` query) check a name without executing. */
  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name)?.definition;
  }

  /**
   * Provider-facing specs for the named tools (all tools when omitted). Throws on
   * an unknown name: an agent naming a missing tool is a configuration error
   * that should surface, not silently shrink the model's toolbox.
   */
  specs(names?: readonly string[]): ToolSpec[] {
    const wanted = names ?? [...this.tools.keys()];
    const unknown = wanted.filter((n) => !this.tools.has(n));
    if (unknown.length > 0) throw new Error(`Unknown tools: ${unknown.join(', ')}`);
    return wanted.map((n) => {
      const { name, description, parameters } = this.tools.get(n)!.definition;
      return { name, description, parameters };
    });
  }

  /** Runs one tool call exactly as the model sent it (raw JSON argument text). */
  async execute(name: string, rawArguments: string, ctx: ToolContext): Promise<ToolResult> {
    const started = performance.now();
    const result = (output: string, isError: boolean, cached = false): ToolResult => ({
      output,
      isError,
      cached,
      durationMs: Math.round(performance.now() - started),
    });

    const tool = this.tools.get(name);
    if (!tool) {
      const available = [...this.tools.keys()].join(', ') || 'none';
      return result(`Unknown tool "${name}". Available tools: ${available}`, true);
    }
    const parsed = parseArguments(rawArguments);
    if (!parsed.ok) return result(`Invalid arguments for ${name}: not valid JSON (${parsed.error})`, true);
    if (!tool.validate(parsed.value)) {
      return result(`Invalid arguments for ${name}: ${formatValidationErrors(tool.validate.errors ?? [])}`, true);
    }

    const { definition } = tool;
    const cacheKey =
      this.options.cache && definition.cacheTtlSeconds ? toolCacheKey(name, parsed.value) : undefined;
    if (cacheKey) {
      const hit = await this.cacheGet(cacheKey);
      if (hit !== undefined) return result(hit, false, true);
    }

    let output: string;
    try {
      const value = await this.runWithTimeout(definition, parsed.value, ctx);
      output = this.toOutput(value);
    } catch (error) {
      return result(`${name} failed: ${errorMessage(error)}`, true);
    }
    if (cacheKey) await this.cacheSet(cacheKey, output, definition.cacheTtlSeconds!);
    return result(output, false);
  }

  /**
   * Races the tool against a timeout and the run's own signal. The tool gets a
   * derived signal, so it can stop work on either; the race makes sure the run
   * moves on even if the tool ignores that signal.
   */
  private async runWithTimeout(definition: ToolDefinition, args: unknown, ctx: ToolContext): Promise<unknown> {
    if (ctx.signal.aborted) throw new Error('cancelled');
    const timeoutMs = definition.timeoutMs ?? this.defaultTimeoutMs;
    const controller = new AbortController();
    const onParentAbort = () => controller.abort(new Error('cancelled'));
    ctx.signal.addEventListener('abort', onParentAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${timeoutMs}ms`)), timeoutMs);
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    const toolCtx: ToolContext = {
      viewerId: ctx.viewerId,
      signal: controller.signal,
      searchMessages: (query, limit) => ctx.searchMessages(query, limit),
    };
    try {
      // `then` turns a synchronous throw inside execute into a rejection.
      const running = Promise.resolve().then(() => definition.execute(args, toolCtx));
      return await Promise.race([running, aborted]);
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onParentAbort);
    }
  }

  private toOutput(value: unknown): string {
    const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
    if (text.length <= this.maxOutputChars) return text;
    const dropped = text.length - this.maxOutputChars;
    return `${text.slice(0, this.maxOutputChars)}\n[output truncated: ${dropped} more characters]`;
  }

  private async cacheGet(key: string): Promise<string | undefined> {
    try {
      return await this.options.cache!.get(key);
    } catch (error) {
      this.options.onCacheError?.(error);
      return undefined;
    }
  }

  private async cacheSet(key: string, value: string, ttlSeconds: number): Promise<void> {
    try {
      await this.options.cache!.set(key, value, ttlSeconds);
    } catch (error) {
      this.options.onCacheError?.(error);
    }
  }
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

/** Models send `""` for argument-less calls; treat it as `{}` rather than an error. */
function parseArguments(raw: string): Parsed {
  if (raw.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

/** `/items/0/name` → `items.0.name`; the root is called `arguments`. */
function pathOf(instancePath: string, child?: unknown): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(String(child));
  return parts.length > 0 ? parts.join('.') : 'arguments';
}

/** Names the failing path in each message, so the model knows which argument to fix. */
export function formatValidationErrors(errors: readonly ErrorObject[]): string {
  const messages = errors.slice(0, MAX_REPORTED_ERRORS).map((e) => {
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
        return `${pathOf(e.instancePath, params.missingProperty)}: is required`;
      case 'additionalProperties':
        return `${pathOf(e.instancePath, params.additionalProperty)}: is not allowed`;
      case 'enum':
        return `${pathOf(e.instancePath)}: must be one of ${JSON.stringify(params.allowedValues)}`;
      default:
        return `${pathOf(e.instancePath)}: ${e.message ?? 'is invalid'}`;
    }
  });
  const more = errors.length - MAX_REPORTED_ERRORS;
  return more > 0 ? `${messages.join('; ')}; and ${more} more` : messages.join('; ');
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
