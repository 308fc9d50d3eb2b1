import type { GqlResult, TestParley } from '../support/parley';

export function ok<T>(res: GqlResult<T>): T {
  if (!res.data || res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data;
}

/** Code, field and message of a failed request. */
export const failure = (res: GqlResult<unknown>) => ({
  code: res.errors?.[0]?.extensions?.code,
  field: res.errors?.[0]?.extensions?.field,
  message: res.errors?.[0]?.message,
});

export function sql<T = Record<string, unknown>>(p: TestParley, query: string, params: unknown[] = []): Promise<T[]> {
  return p.app.runtime.orm.em.fork().getConnection().execute<T[]>(query, params);
}

export async function newConversation(p: TestParley, key: string, title = 'tree'): Promise<string> {
  const res = await p.gql<{ createConversation: { conversation: { id: string } } }>(
    'mutation($t: String) { createConversation(input: { title: $t }) { conversation { id } } }',
    { t: title },
    key,
  );
  return ok(res).createConversation.conversation.id;
}

const APPEND = `mutation($input: AppendMessageInput!) { appendMessage(input: $input) { message { id } } }`;

export interface Spec {
  /** Local name, used by the test to refer to the message. */
  name: string;
  parent: string | null;
  role?: string;
  content?: string;
  toolCalls?: { id: string; name: string; arguments: string }[];
  toolCallId?: string;
}

/**
 * Builds a tree through appendMessage (parents listed before children) and
 * returns name → id. Messages are appended with setActive false; the caller
 * decides the active leaf.
 */
export async function buildTree(p: TestParley, key: string, conversationId: string, specs: Spec[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const s of specs) {
    const input = {
      conversationId,
      ...(s.parent === null ? { asRoot: true } : { parentId: ids.get(s.parent) }),
      role: s.role ?? 'USER',
      content: s.content ?? `message ${s.name}`,
      toolCalls: s.toolCalls,
      toolCallId: s.toolCallId,
      setActive: false,
    };
    ids.set(s.name, ok(await p.gql<{ appendMessage: { message: { id: string } } }>(APPEND, { input }, key)).appendMessage.message.id);
  }
  return ids;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  costUsd: number;
}

/** Writes usage numbers straight into the rows (runs are not what these tests are about). */
export async function setUsage(p: TestParley, id: string, u: Usage): Promise<void> {
  await sql(
    p,
    'update messages set prompt_tokens = ?, completion_tokens = ?, reasoning_tokens = ?, cached_tokens = ?, cost_usd = ? where id = ?',
    [u.promptTokens, u.completionTokens, u.reasoningTokens, u.cachedTokens, u.costUsd, id],
  );
}

export const sumUsage = (list: Usage[]): Usage =>
  list.reduce(
    (a, u) => ({
      promptTokens: a.promptTokens + u.promptTokens,
      completionTokens: a.completionTokens + u.completionTokens,
      reasoningTokens: a.reasoningTokens + u.reasoningTokens,
      cachedTokens: a.cachedTokens + u.cachedTokens,
      costUsd: a.costUsd + u.costUsd,
    }),
    { promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, costUsd: 0 },
  );

/** Every edge of a connection, following endCursor until hasNextPage is false. */
export async function allPages<N>(
  fetchPage: (after: string | null) => Promise<{ edges: { cursor: string; node: N }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }>,
): Promise<{ nodes: N[]; pages: number }> {
  const nodes: N[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const page = await fetchPage(after);
    pages++;
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) return { nodes, pages };
    after = page.pageInfo.endCursor;
    if (pages > 10_000) throw new Error('paging does not end');
  }
}

/** Depth-first pre-order of (id, parentId) nodes, children ordered by id: what Conversation.tree promises. */
export function preOrder(nodes: readonly { id: string; parentId: string | null }[]): string[] {
  const children = new Map<string | null, string[]>();
  for (const n of nodes) children.set(n.parentId, [...(children.get(n.parentId) ?? []), n.id]);
  for (const list of children.values()) list.sort();
  const out: string[] = [];
  const visit = (id: string) => {
    out.push(id);
    for (const c of children.get(id) ?? []) visit(c);
  };
  for (const root of children.get(null) ?? []) visit(root);
  return out;
}
