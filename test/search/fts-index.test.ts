import type { EntityManager } from '@mikro-orm/postgresql';
import { startTestParley, type TestParley } from '../support/parley';
import { MESSAGE_MATCHES, MESSAGE_RANK } from '../../src/modules/tools/message-search';
import { conversationListSql } from '../../src/modules/conversations/conversation-list.sql';
import { append, createConversation, sql as sql_ } from '../usage/usage-fixtures';

class Rollback extends Error {
  constructor(readonly plan: string) {
    super('rollback');
  }
}

/**
 * EXPLAIN with the other ways into `messages` (sequential scan, the
 * conversation_id index) taken away, in a transaction that is rolled back:
 * the plan can only reach messages through the GIN index, and shows it only if
 * the query's expression matches the index expression.
 */
async function plan(p: TestParley, sql: string, params: unknown[]): Promise<string> {
  const em = p.app.runtime.orm.em.fork() as EntityManager;
  try {
    await em.transactional(async (tx) => {
      const conn = tx.getConnection();
      const ctx = tx.getTransactionContext();
      await conn.execute('set local enable_seqscan = off', [], 'run', ctx);
      await conn.execute('drop index messages_conversation_id_created_at_index', [], 'run', ctx);
      const rows = await conn.execute<{ 'QUERY PLAN': string }[]>(`explain ${sql}`, params, 'all', ctx);
      throw new Rollback(rows.map((r) => r['QUERY PLAN']).join('\n'));
    });
  } catch (err) {
    if (err instanceof Rollback) return err.plan;
    throw err;
  }
  throw new Error('unreachable');
}

describe('the shared full-text match can use messages_content_fts_index', () => {
  let p: TestParley;
  let viewer: { id: string; apiKey: string };

  beforeAll(async () => {
    p = await startTestParley();
    viewer = await p.newUser();
    const c = await createConversation(p, viewer.apiKey, { title: 'index' });
    for (let i = 0; i < 20; i++) await append(p, viewer.apiKey, { conversationId: c, content: `message ${i} about quokkas` });
  });
  afterAll(() => p.stop());

  it('in message search', async () => {
    const text = await plan(p, `select m.id, ${MESSAGE_RANK} as rank ${MESSAGE_MATCHES}`, ['quokka', viewer.id]);
    expect(text).toContain('messages_content_fts_index');
  });

  it('in conversations(filter: { search }), and the index survives the test', async () => {
    const { sql, params } = conversationListSql({ ownerId: viewer.id, archived: false, search: 'quokka', limit: 20 });
    expect(await plan(p, sql, params)).toContain('messages_content_fts_index');
    const left = await sql_(p, `select count(*)::int as n from pg_indexes where indexname = 'messages_conversation_id_created_at_index'`);
    expect(left[0].n).toBe(1);
  });
});
