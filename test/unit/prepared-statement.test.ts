import { prepared } from '../../src/db/sql';
import { conversationListSql } from '../../src/modules/conversations/conversation-list.sql';

describe('prepared: a `?` statement as a named, numbered one', () => {
  it('numbers the placeholders in order and keeps the rest of the text', () => {
    const s = prepared('t', 'select * from x where a = ? and b = any(?::uuid[]) limit ?');
    expect(s.text).toBe('select * from x where a = $1 and b = any($2::uuid[]) limit $3');
  });

  it('names a statement after its text: the same shape shares a name, another shape gets its own', () => {
    const owner = '0190a0a0-0000-7000-8000-000000000000';
    const plain = conversationListSql({ ownerId: owner, archived: false, limit: 20 });
    const samePlain = conversationListSql({ ownerId: owner, archived: false, limit: 50 });
    const tagged = conversationListSql({ ownerId: owner, archived: false, tag: 'x', limit: 20 });
    expect(prepared('list', plain.sql).name).toBe(prepared('list', samePlain.sql).name);
    expect(prepared('list', tagged.sql).name).not.toBe(prepared('list', plain.sql).name);
    // Postgres truncates identifiers at 63 bytes; names stay well under.
    expect(prepared('conversation_list', tagged.sql).name.length).toBeLessThan(64);
  });

  it('leaves one value per placeholder in every list shape', () => {
    const q = conversationListSql({
      ownerId: '0190a0a0-0000-7000-8000-000000000000',
      archived: false,
      search: 'quokka',
      tag: 't',
      model: 'demo/demo',
      minCost: 1,
      limit: 20,
      after: { rank: 0.5, updatedAt: '2026-01-01 00:00:00+00', id: '0190a0a0-0000-7000-8000-000000000001' },
    });
    const { text } = prepared('list', q.sql);
    expect(text.match(/\$\d+/g)).toHaveLength(q.params.length);
    expect(text).not.toContain('?');
  });
});
