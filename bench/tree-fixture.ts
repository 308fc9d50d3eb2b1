/**
 * The benchmark's conversation, written straight into a database with
 * set-based inserts: a trunk (the long-running main thread) with side branches
 * of a few messages forking off it at evenly spaced points, the way edits and
 * regenerations accumulate. The active leaf is the end of the trunk, so the
 * active path is the longest one in the tree.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../src/db/base.entity';
import { MessageRole, MessageStatus } from '../src/modules/messages/message.entity';
import { insertMessages, type MessageRow } from '../src/modules/transfer/transfer.sql';

export interface TreeShape {
  messages: number;
  branches: number;
  /** Messages per side branch. */
  sideLength: number;
}

export interface BuiltTree {
  conversationId: string;
  activeLeafId: string;
  trunkLength: number;
  leaves: number;
  maxDepth: number;
}

interface Draft {
  parent: number | null;
  depth: number;
  role: MessageRole;
  at: number;
}

function layout(shape: TreeShape): { nodes: Draft[]; trunk: number } {
  const sides = shape.branches - 1;
  const trunk = shape.messages - sides * shape.sideLength;
  if (trunk < shape.branches) throw new Error('too many branches for this many messages');
  const start = Date.UTC(2026, 0, 1);
  const roleAt = (depth: number) => (depth % 2 === 0 ? MessageRole.USER : MessageRole.ASSISTANT);
  const nodes: Draft[] = Array.from({ length: trunk }, (_, i) => ({ parent: i ? i - 1 : null, depth: i, role: roleAt(i), at: start + i * 60_000 }));
  for (let k = 0; k < sides; k++) {
    let parent = Math.floor(((k + 1) * (trunk - 1)) / shape.branches);
    for (let j = 0; j < shape.sideLength; j++) {
      const depth = nodes[parent].depth + 1;
      // A side branch is written soon after the message it forks from, between two trunk messages.
      nodes.push({ parent, depth, role: roleAt(depth), at: nodes[parent].at + 1_000 * (j + 1) });
      parent = nodes.length - 1;
    }
  }
  return { nodes, trunk };
}

const words = 'the a branch model answer question context token tree message reply summary'.split(' ');
const text = (i: number, length: number) => Array.from({ length }, (_, k) => words[(i * 7 + k) % words.length]).join(' ');

/** Writes a user, a conversation and its tree; returns what the benchmark needs to know. */
export async function buildTree(em: EntityManager, shape: TreeShape): Promise<BuiltTree> {
  const { nodes, trunk } = layout(shape);
  // Ids sort by creation: hand them out in time order.
  const order = nodes.map((_, i) => i).sort((a, b) => nodes[a].at - nodes[b].at || a - b);
  const sorted = order.map(() => newId()).sort();
  const ids = new Array<string>(nodes.length);
  order.forEach((index, k) => (ids[index] = sorted[k]));

  const rows: MessageRow[] = nodes
    .map((n, i) => ({ n, i }))
    .sort((a, b) => a.n.depth - b.n.depth)
    .map(({ n, i }) => {
      const assistant = n.role === MessageRole.ASSISTANT;
      const promptTokens = assistant ? 50 + n.depth * 40 : 0;
      const completionTokens = assistant ? 150 : 0;
      return {
        id: ids[i],
        parentId: n.parent === null ? null : ids[n.parent],
        depth: n.depth,
        role: n.role,
        content: text(i, assistant ? 80 : 20),
        reasoning: null,
        toolCalls: [],
        toolCallId: null,
        model: assistant ? 'demo/demo' : null,
        promptTokens,
        completionTokens,
        reasoningTokens: 0,
        cachedTokens: 0,
        costUsd: promptTokens * 0.15e-6 + completionTokens * 0.6e-6,
        latencyMs: assistant ? 900 : null,
        status: MessageStatus.COMPLETE,
        createdAt: new Date(n.at),
        pinned: false,
        excluded: false,
      };
    });

  const conn = em.getConnection();
  return em.transactional(async (tx) => {
    const ctx = tx.getTransactionContext();
    const [user] = await conn.execute<{ id: string }[]>(
      `insert into users (id, created_at, updated_at, email, role) values (?, now(), now(), ?, 'MEMBER') returning id`,
      [newId(), `bench-${newId()}@example.com`],
      'all',
      ctx,
    );
    const conversationId = newId();
    await conn.execute(
      `insert into conversations (id, created_at, updated_at, owner_id, title, tags, settings, version)
       values (?, now(), now(), ?, 'Tree benchmark', '{bench}', '{}', 1)`,
      [conversationId, user.id],
      'all',
      ctx,
    );
    await insertMessages(tx, conversationId, rows);
    await conn.execute('update messages set updated_at = created_at where conversation_id = ?', [conversationId], 'all', ctx);
    const activeLeafId = ids[trunk - 1];
    await conn.execute('update conversations set active_leaf_id = ? where id = ?', [activeLeafId, conversationId], 'all', ctx);
    const children = new Set(nodes.map((n) => n.parent));
    return {
      conversationId,
      activeLeafId,
      trunkLength: trunk,
      leaves: nodes.filter((_, i) => !children.has(i)).length,
      maxDepth: Math.max(...nodes.map((n) => n.depth)),
    };
  });
}
