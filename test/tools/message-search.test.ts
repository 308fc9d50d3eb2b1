import { randomBytes, randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { searchMessages } from '../../src/modules/tools/message-search';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = `parley_tools_${randomBytes(6).toString('hex')}`;

const userA = randomUUID();
const userB = randomUUID();
const convA1 = randomUUID();
const convA2 = randomUUID();
const convB = randomUUID();

function open(url: string): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: url,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: 1 }, // one connection, so session settings (enable_seqscan) stick
    allowGlobalContext: true,
  });
}

describe('searchMessages (real Postgres)', () => {
  let orm: MikroORM;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const admin = await open(ADMIN_URL);
    try {
      await admin.em.getConnection().execute(`create database "${DB_NAME}"`);
    } finally {
      await admin.close(true);
    }
    orm = await open(ADMIN_URL.replace(/\/postgres$/, `/${DB_NAME}`));
    const conn = orm.em.getConnection();
    await conn.execute(`
      create type message_role as enum ('SYSTEM', 'USER', 'ASSISTANT', 'TOOL');
      create table conversations (id uuid primary key, owner_id uuid not null, title varchar(200) not null);
      create table messages (
        id uuid primary key,
        conversation_id uuid not null references conversations (id),
        role message_role not null, -- same enum as the real schema
        content text not null,
        created_at timestamptz not null
      );
      create index messages_content_fts on messages using gin (to_tsvector('english', content));`);
    await conn.execute('insert into conversations (id, owner_id, title) values (?, ?, ?), (?, ?, ?), (?, ?, ?)', [
      convA1, userA, 'Trip planning',
      convA2, userA, 'Cooking',
      convB, userB, 'Secret plans',
    ]);
    const rows: [string, string, string, string][] = [
      ['a_trains', convA1, 'USER', 'Which trains go from Paris to Lyon? I love trains, trains are the best way to travel.'],
      ['a_train_once', convA1, 'ASSISTANT', 'The TGV train leaves Paris Gare de Lyon every hour.'],
      ['a_pasta', convA2, 'USER', 'How long should I boil fresh pasta?'],
      ['a_tool', convA1, 'TOOL', '{"hits":[{"snippet":"trains to Lyon"}]}'],
      ['a_system', convA2, 'SYSTEM', 'You are a helpful assistant who knows about trains.'],
      ['b_trains', convB, 'USER', 'My secret train timetable: trains trains trains to Lyon.'],
    ];
    let t = Date.parse('2025-01-01T00:00:00Z');
    for (const [key, conversationId, role, content] of rows) {
      ids[key] = randomUUID();
      t += 60_000;
      await conn.execute('insert into messages (id, conversation_id, role, content, created_at) values (?, ?, ?::message_role, ?, ?)', [
        ids[key], conversationId, role, content, new Date(t),
      ]);
    }
  });

  afterAll(async () => {
    await orm?.close(true);
    const admin = await open(ADMIN_URL);
    try {
      await admin.em.getConnection().execute(`drop database if exists "${DB_NAME}" with (force)`);
    } finally {
      await admin.close(true);
    }
  });

  it('ranks the best match first and highlights the terms', async () => {
    const hits = await searchMessages(orm.em.fork(), userA, 'train', 10);
    expect(hits.map((h) => h.messageId)).toEqual([ids.a_trains, ids.a_train_once]);
    expect(hits[0].rank).toBeGreaterThan(hits[1].rank);
    expect(hits[0]).toMatchObject({
      conversationId: convA1,
      conversationTitle: 'Trip planning',
      role: 'USER',
      createdAt: '2025-01-01T00:01:00.000Z',
    });
    expect(hits[0].snippet).toContain('**trains**');
    expect(hits[1].snippet).toContain('**train**'); // stemming: "train" matches "trains" and vice versa
  });

  it("never returns another user's messages", async () => {
    const forA = await searchMessages(orm.em.fork(), userA, 'secret timetable', 10);
    expect(forA).toEqual([]);
    const forB = await searchMessages(orm.em.fork(), userB, 'trains', 10);
    expect(forB.map((h) => h.messageId)).toEqual([ids.b_trains]);
    const allA = await searchMessages(orm.em.fork(), userA, 'trains OR pasta OR lyon', 50);
    expect(allA.length).toBeGreaterThan(0);
    expect(allA.every((h) => h.conversationId !== convB)).toBe(true);
  });

  it('skips TOOL and SYSTEM messages', async () => {
    const hits = await searchMessages(orm.em.fork(), userA, 'trains', 10);
    expect(hits.map((h) => h.role).sort()).toEqual(['ASSISTANT', 'USER']);
  });

  it('supports websearch syntax and respects the limit', async () => {
    const phrase = await searchMessages(orm.em.fork(), userA, '"fresh pasta"', 10);
    expect(phrase.map((h) => h.messageId)).toEqual([ids.a_pasta]);
    const excluded = await searchMessages(orm.em.fork(), userA, 'lyon -tgv', 10);
    expect(excluded.map((h) => h.messageId)).toEqual([ids.a_trains]);
    const limited = await searchMessages(orm.em.fork(), userA, 'train', 1);
    expect(limited.map((h) => h.messageId)).toEqual([ids.a_trains]);
  });

  it('returns nothing for blank, stop-word-only or hostile queries', async () => {
    expect(await searchMessages(orm.em.fork(), userA, '   ', 10)).toEqual([]);
    expect(await searchMessages(orm.em.fork(), userA, 'the and of', 10)).toEqual([]);
    expect(await searchMessages(orm.em.fork(), userA, "'); drop table messages; --", 10)).toEqual([]);
    expect(await searchMessages(orm.em.fork(), userA, 'train & | ! (', 10)).toHaveLength(2);
  });

  it('can use the GIN index', async () => {
    const conn = orm.em.getConnection();
    await conn.execute('set enable_seqscan = off');
    try {
      const plan = await conn.execute<{ 'QUERY PLAN': string }[]>(
        `explain select id from messages where to_tsvector('english', content) @@ websearch_to_tsquery('english', 'train')`,
      );
      expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('messages_content_fts');
    } finally {
      await conn.execute('set enable_seqscan = on');
    }
  });
});
