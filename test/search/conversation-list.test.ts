import { AppError } from '../../src/server/errors';
import { encodeCursor } from '../../src/server/relay';
import { listCursor, toListQuery } from '../../src/modules/conversations/conversation-list';
import type { ConversationFilter } from '../../src/modules/conversations/conversation.types';

const OWNER = '01a201b1-0000-7000-8000-000000000001';
const ID = '01a201b1-0000-7000-8000-000000000002';

const errorOf = (fn: () => unknown): { code: string; field?: unknown } | undefined => {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return { code: err.code, field: err.details.field };
    throw err;
  }
  return undefined;
};
const filter = (f: Partial<ConversationFilter>) => f as ConversationFilter;

describe('toListQuery', () => {
  it('normalises the filter: trimmed search, lower-case tag, zero minCost dropped', () => {
    const q = toListQuery(OWNER, { first: 5, filter: filter({ search: '  quokka ', tag: ' Zoo ', minCost: 0, model: ' m/a ' }) });
    expect(q).toMatchObject({ ownerId: OWNER, limit: 5, search: 'quokka', tag: 'zoo', model: 'm/a', archived: false });
    expect(q.minCost).toBeUndefined();
    expect(toListQuery(OWNER, { filter: filter({ search: '   ' }) }).search).toBeUndefined();
    expect(toListQuery(OWNER, { filter: filter({ minCost: 0.5 }) }).minCost).toBe(0.5);
  });

  it('round-trips its own cursors, in the kind the ordering needs', () => {
    const plain = toListQuery(OWNER, {});
    const searching = toListQuery(OWNER, { filter: filter({ search: 'x' }) });
    const at = '2025-01-01 00:00:00.123456+00';
    expect(toListQuery(OWNER, { after: listCursor(plain, 0, at, ID) }).after).toEqual({ updatedAt: at, id: ID });
    const after = listCursor(searching, 0.0607927, at, ID);
    expect(toListQuery(OWNER, { after, filter: filter({ search: 'x' }) }).after).toEqual({ rank: 0.0607927, updatedAt: at, id: ID });
    // A cursor from one ordering is refused by the other.
    expect(errorOf(() => toListQuery(OWNER, { after }))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(errorOf(() => toListQuery(OWNER, { after: listCursor(plain, 0, at, ID), filter: filter({ search: 'x' }) }))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
    // Cursors written before microseconds were kept (ISO strings) still work.
    expect(toListQuery(OWNER, { after: encodeCursor('conversations', ['2025-01-01T00:00:00.123Z', ID]) }).after?.updatedAt).toBe('2025-01-01T00:00:00.123Z');
  });

  it('rejects forged cursors and bad filters', () => {
    const forged: [string, ConversationFilter | undefined][] = [
      [encodeCursor('conversations', ['yesterday', ID]), undefined],
      [encodeCursor('conversations', ['2025-01-01T00:00:00Z', 'not-a-uuid']), undefined],
      [encodeCursor('conversationSearch', ['high', '2025-01-01T00:00:00Z', ID]), filter({ search: 'x' })],
      ['garbage', undefined],
    ];
    for (const [after, f] of forged) {
      expect(errorOf(() => toListQuery(OWNER, { after, filter: f }))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    }
    expect(errorOf(() => toListQuery(OWNER, { filter: filter({ minCost: -0.01 }) }))?.field).toBe('filter.minCost');
    expect(errorOf(() => toListQuery(OWNER, { filter: filter({ minCost: Number.NaN }) }))?.field).toBe('filter.minCost');
    expect(errorOf(() => toListQuery(OWNER, { filter: filter({ from: new Date(2), to: new Date(1) }) }))?.field).toBe('filter.to');
    expect(errorOf(() => toListQuery(OWNER, { first: 0 }))?.field).toBe('first');
  });
});
