import { validate as isUuid } from 'uuid';
import { badInput } from './errors';

/** Input checks shared by every module; each names the field it rejects. */
export function requireId(value: string, field: string): string {
  if (!isUuid(value)) throw badInput(field, 'is not a valid id');
  return value.toLowerCase();
}

export function optionalId(value: string | undefined | null, field: string): string | undefined {
  return value === undefined || value === null ? undefined : requireId(value, field);
}

export function requireText(value: string, field: string, max: number, opts: { allowEmpty?: boolean } = {}): string {
  if (!opts.allowEmpty && value.trim().length === 0) throw badInput(field, 'must not be empty');
  if (value.length > max) throw badInput(field, `must be at most ${max} characters`, { max });
  // Postgres text and jsonb cannot hold U+0000; refused here rather than failing the insert.
  if (value.includes('\u0000')) throw badInput(field, 'must not contain NUL (U+0000) characters');
  return value;
}

export function optionalText(value: string | undefined | null, field: string, max: number): string | undefined {
  return value === undefined || value === null ? undefined : requireText(value, field, max, { allowEmpty: true });
}

export const LIMITS = {
  title: 200,
  content: 100_000,
  tags: 20,
  tag: 50,
  name: 200,
  description: 2_000,
  instructions: 50_000,
  systemPrompt: 50_000,
  email: 320,
  model: 200,
  /** Ids and names of tool calls (OpenAI's own ids are ~30 characters). */
  toolCallId: 200,
  /** Tool calls in one assistant message: OpenAI's limit on the tools of one request. */
  toolCalls: 128,
  /** Server-side tools named by an agent or a run's settings (there are far fewer of them). */
  tools: 50,
  /** Client-side tools declared by one run: OpenAI's limit on the tools of one request. */
  clientTools: 128,
  /** Nesting of a JSON document a client sends whole (importConversation's data). */
  jsonDepth: 32,
} as const;

/** Every list a client sends has a bound: refused here, named by its field, before anything looks at its items. */
export function requireListSize(list: readonly unknown[] | undefined | null, field: string, max: number): void {
  if (list && list.length > max) throw badInput(field, `at most ${max} items`, { max });
}

export function requireTags(tags: string[] | undefined | null, field = 'tags'): string[] | undefined {
  if (tags === undefined || tags === null) return undefined;
  requireListSize(tags, field, LIMITS.tags);
  const clean = tags.map((t) => t.trim().toLowerCase());
  for (const t of clean) {
    if (!t) throw badInput(field, 'tags must not be empty');
    if (t.length > LIMITS.tag) throw badInput(field, `each tag must be at most ${LIMITS.tag} characters`);
    if (t.includes('\u0000')) throw badInput(field, 'tags must not contain NUL (U+0000) characters');
  }
  return [...new Set(clean)];
}

export function requireTemperature(value: number | undefined | null, field = 'temperature'): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isFinite(value) || value < 0 || value > 2) throw badInput(field, 'must be between 0 and 2');
  return value;
}

/**
 * A JSON value a client sends for Parley to keep (a tool's JSON Schema, say):
 * nested at most `maxDepth` deep and at most `maxChars` long once serialized.
 * The depth is measured without recursion, so an absurdly deep value is
 * refused here instead of overflowing the stack wherever it is serialized.
 */
export function requireJsonSize(value: unknown, field: string, maxDepth: number, maxChars = Infinity): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > maxDepth) throw badInput(field, `must not nest deeper than ${maxDepth} levels`, { maxDepth });
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  if (maxChars !== Infinity && JSON.stringify(value).length > maxChars) throw badInput(field, `must be at most ${maxChars} characters as JSON`, { max: maxChars });
}
