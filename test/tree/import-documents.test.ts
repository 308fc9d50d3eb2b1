import { AppError } from '../../src/server/errors';
import { checkTree, fieldPath, planImport } from '../../src/modules/transfer/import-tree';
import { parseParleyDocument } from '../../src/modules/transfer/parley-format';
import { parseOpenAIMessages } from '../../src/modules/transfer/openai-format';
import { branchCursor, decodeBranchCursor, decodeTreeCursor, treeCursor } from '../../src/modules/tree/tree-cursor';
import { encodeCursor } from '../../src/server/relay';

const node = (key: string, parentKey: string | null = null) => ({ key, parentKey });

/** The BAD_USER_INPUT a function throws, as field and message. */
function rejection(fn: () => unknown): { field: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return { field: err.details.field, message: err.message };
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('checkTree', () => {
  it('computes depths whatever the order of parents and children', () => {
    expect(checkTree([node('c', 'b'), node('a'), node('b', 'a'), node('d', 'a'), node('r')])).toEqual({ depths: [2, 0, 1, 1, 0] });
  });

  it('names the first bad node in document order', () => {
    const result = checkTree([node('a'), node('b', 'zz'), node('c', 'd'), node('d', 'c'), node('a', 'b')]);
    expect(result).toEqual({ problem: { index: 1, field: 'parentId', message: 'unknown parent "zz"' } });
  });

  it('blames the nodes on a cycle, not those hanging below it', () => {
    const result = checkTree([node('root'), node('below', 'x'), node('x', 'y'), node('y', 'x')]);
    expect(result).toEqual({ problem: { index: 2, field: 'parentId', message: 'parent links form a cycle: "x" → "y" → "x"' } });
  });

  it('finds a node that is its own parent and a repeated id', () => {
    expect(checkTree([node('a', 'a')])).toMatchObject({ problem: { index: 0, message: expect.stringContaining('"a" → "a"') } });
    expect(checkTree([node('a'), node('b', 'a'), node('a', 'b')])).toMatchObject({
      problem: { index: 2, field: 'id', message: 'duplicate id "a" (first used by messages[0])' },
    });
  });

  it('handles a chain far deeper than the call stack would allow', () => {
    const n = 200_000;
    const chain = Array.from({ length: n }, (_, i) => node(`n${i}`, i ? `n${i - 1}` : null)).reverse();
    const result = checkTree(chain) as { depths: number[] };
    expect(result.depths[0]).toBe(n - 1);
    expect(result.depths[n - 1]).toBe(0);
  });
});

describe('planImport', () => {
  it('hands out ascending ids parents first, keeping the document order of siblings', () => {
    let i = 0;
    const newId = () => `id-${String(9 - i++)}`; // handed out descending: the plan must sort them
    const nodes = [node('child2', 'root'), node('root'), node('child1', 'root'), node('grandchild', 'child2')];
    const plan = planImport(nodes, [1, 0, 1, 2], newId);
    const byKey = new Map(plan.map((p) => [nodes[p.index].key, p]));
    expect(plan.map((p) => nodes[p.index].key)).toEqual(['root', 'child2', 'child1', 'grandchild']);
    expect(byKey.get('root')!.id < byKey.get('child2')!.id).toBe(true);
    expect(byKey.get('child2')!.id < byKey.get('child1')!.id).toBe(true);
    expect(byKey.get('grandchild')).toMatchObject({ parentId: byKey.get('child2')!.id, depth: 2 });
    expect(byKey.get('root')!.parentId).toBeNull();
  });
});

describe('fieldPath', () => {
  it('writes paths as a reader would', () => {
    expect(fieldPath(['messages', 17, 'parentId'])).toBe('messages[17].parentId');
    expect(fieldPath(['messages', 2, 'toolCalls', 0, 'id'])).toBe('messages[2].toolCalls[0].id');
    expect(fieldPath([])).toBe('');
  });
});

describe('parseParleyDocument', () => {
  const doc = (messages: unknown[], conversation: Record<string, unknown> = {}) => ({ version: 1, conversation, messages });

  it('fills defaults and keeps what it is given', () => {
    const draft = parseParleyDocument(
      doc([
        { id: 'a', role: 'USER', content: 'hi' },
        { id: 'q', parentId: 'a', role: 'ASSISTANT', content: '', toolCalls: [{ id: 'c1', name: 'calculator', arguments: '{}' }] },
        { id: 'b', parentId: 'q', role: 'TOOL', content: '4', toolCallId: 'c1', pinned: true },
      ], {
        title: 'T',
        tags: ['X', 'x', 'y'],
        settings: { temperature: 0.5, forkedFrom: { conversationId: 'z' } },
      }),
    );
    expect(draft).toMatchObject({ title: 'T', tags: ['x', 'y'], settings: { temperature: 0.5 }, activeLeafKey: null, depths: [0, 1, 2] });
    expect(draft.settings).not.toHaveProperty('forkedFrom');
    expect(draft.messages[2]).toMatchObject({ role: 'TOOL', toolCallId: 'c1', pinned: true, excluded: false, status: 'COMPLETE', usage: { costUsd: 0 } });
  });

  it.each([
    [[{ id: 'a', role: 'USER', content: 'x\u0000y' }], 'messages[0].content', /NUL/],
    [[{ id: 'a', role: 'USER', content: 'x', createdAt: 'yesterday' }], 'messages[0].createdAt', /ISO 8601/],
    [[{ id: 'a', role: 'USER', content: 'x', toolCalls: [{ id: 'c', name: 'n', arguments: '{}' }] }], 'messages[0].toolCalls', /ASSISTANT/],
    [[{ id: 'a', role: 'ASSISTANT', content: 'x', usage: { promptTokens: -1 } }], 'messages[0].usage.promptTokens', /greater than or equal to 0/],
    [['not an object'], 'messages[0]', /must be object, not string/],
    [[{ id: '', role: 'USER', content: 'x' }], 'messages[0].id', /must not be empty/],
  ])('rejects %j at %s', (messages, field, message) => {
    const r = rejection(() => parseParleyDocument(doc(messages)));
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
  });

  it('reports a shape problem before a tree problem of a later message, and the other way round', () => {
    const shapeFirst = [{ id: 'a', role: 'NOPE', content: 'x' }, { id: 'b', parentId: 'missing', role: 'USER', content: 'x' }];
    expect(rejection(() => parseParleyDocument(doc(shapeFirst))).field).toBe('messages[0].role');
    const treeFirst = [{ id: 'b', parentId: 'missing', role: 'USER', content: 'x' }, { id: 'a', role: 'NOPE', content: 'x' }];
    expect(rejection(() => parseParleyDocument(doc(treeFirst))).field).toBe('messages[0].parentId');
  });

  it('accepts every answer of one turn and names the first TOOL message that answers no call before it', () => {
    const turn = [
      { id: 'u', role: 'USER', content: 'two sums' },
      { id: 'a', parentId: 'u', role: 'ASSISTANT', content: '', toolCalls: [{ id: 'c1', name: 'calculator', arguments: '{}' }, { id: 'c2', name: 'calculator', arguments: '{}' }] },
      { id: 't1', parentId: 'a', role: 'TOOL', content: '2', toolCallId: 'c1' },
      { id: 't2', parentId: 't1', role: 'TOOL', content: '4', toolCallId: 'c2' },
    ];
    expect(parseParleyDocument(doc(turn)).depths).toEqual([0, 1, 2, 3]);
    const strayAnswer = [...turn, { id: 't3', parentId: 't2', role: 'TOOL', content: '?', toolCallId: 'c9' }];
    expect(rejection(() => parseParleyDocument(doc(strayAnswer)))).toMatchObject({ field: 'messages[4].toolCallId', message: expect.stringMatching(/"c9"/) });
    const afterUser = [{ id: 'u', role: 'USER', content: 'hi' }, { id: 't', parentId: 'u', role: 'TOOL', content: '4', toolCallId: 'c1' }];
    expect(rejection(() => parseParleyDocument(doc(afterUser))).field).toBe('messages[1].toolCallId');
  });

  it('does not call a link to a malformed message unknown', () => {
    const messages = [{ id: 'b', parentId: 'a', role: 'USER', content: 'x' }, { id: 'a', role: 'USER' }];
    expect(rejection(() => parseParleyDocument(doc(messages))).field).toBe('messages[1].content');
  });

  it('rejects documents that are not documents', () => {
    expect(rejection(() => parseParleyDocument('hello')).field).toBe('data');
    expect(rejection(() => parseParleyDocument({ version: 1 })).field).toBe('messages');
    expect(rejection(() => parseParleyDocument(doc([], { tags: [''] }))).field).toBe('conversation.tags');
  });
});

describe('parseOpenAIMessages', () => {
  it('turns a request body into a chain, joining text parts and mapping developer to SYSTEM', () => {
    const draft = parseOpenAIMessages({
      model: 'x',
      messages: [
        { role: 'developer', content: 'rules' },
        { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c', content: 'ok' },
      ],
    });
    expect(draft.depths).toEqual([0, 1, 2, 3]);
    expect(draft.messages.map((m) => [m.role, m.content, m.parentKey])).toEqual([
      ['SYSTEM', 'rules', null],
      ['USER', 'ab', '0'],
      ['ASSISTANT', '', '1'],
      ['TOOL', 'ok', '2'],
    ]);
    expect(draft.messages[2].toolCalls).toEqual([{ id: 'c', name: 'f', arguments: '{}' }]);
  });

  it('names content that is too long', () => {
    expect(rejection(() => parseOpenAIMessages([{ role: 'user', content: 'x'.repeat(100_001) }])).field).toBe('messages[0].content');
  });
});

describe('tree cursors', () => {
  it('round-trip and reject foreign or forged cursors', () => {
    const position = { activity: '2026-11-22 10:00:00.123456+00', leafId: '01a201c0-6a78-73b6-8cc3-be7efa941638' };
    expect(decodeBranchCursor(branchCursor(position))).toEqual(position);
    expect(decodeTreeCursor(treeCursor(position.leafId))).toBe(position.leafId);
    expect(rejection(() => decodeBranchCursor(treeCursor(position.leafId))).field).toBe('after');
    expect(rejection(() => decodeBranchCursor(encodeCursor('branches', ["'; drop table messages", position.leafId]))).field).toBe('after');
    expect(rejection(() => decodeTreeCursor(encodeCursor('tree', 'not-a-uuid'))).field).toBe('after');
  });
});
