/**
 * npm run bench:delete — deleting conversations and agents in a database that
 * holds many others.
 *
 * Builds BENCH_CONVERSATIONS conversations of BENCH_MESSAGES messages each,
 * every second message answered by a run (set-based inserts into a scratch
 * database migrated like production), then times through a Parley node:
 *   deleteConversation  (cascades to its messages, runs and steps)
 *   deleteAgent         (sets null on the conversations, runs and messages that used it)
 * with the schema as migrated, and again after dropping the indexes on the
 * referencing foreign-key columns (the schema before migration
 * 20261201034635): the baseline, in the same run.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import { dropDatabase, scratchDatabaseUrl } from '../scripts/scratch-db';
import { ensureDatabase, ormConfig } from '../src/db/orm';
import { loadConfig } from '../src/config';
import { startParley, type ParleyApp } from '../src/server/app';
import { round, summary } from './stats';
import { gqlClient, runBenchmark, writeResult } from './harness';

const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 20);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
/** Deletions timed per schema; each one removes a conversation (and an agent) the next one no longer sees. */
const DELETES = Number(process.env.BENCH_DELETES ?? 3);

/** The indexes migration 20261201034635 added: one per foreign-key column that points at a row others may delete. */
const FK_INDEXES = [
  'conversations_agent_id_index',
  'conversations_active_leaf_id_index',
  'messages_agent_id_index',
  'messages_run_id_index',
  'runs_agent_id_index',
  'runs_input_message_id_index',
  'runs_response_message_id_index',
  'context_summaries_conversation_id_index',
];

/** One agent per conversation; messages and runs reference both, as an agent's runs do. */
async function buildFixture(em: EntityManager, ownerId: string): Promise<{ conversations: string[]; agents: string[] }> {
  const conn = em.getConnection();
  const agents = await conn.execute<{ id: string }[]>(
    `insert into agents (id, owner_id, name, model, tools, version, created_at, updated_at)
     select gen_random_uuid(), ?, 'bench ' || n, 'demo/demo', '{}', 1, now(), now() from generate_series(1, ?) n returning id`,
    [ownerId, CONVERSATIONS],
  );
  const conversations = await conn.execute<{ id: string }[]>(
    `insert into conversations (id, owner_id, agent_id, title, tags, settings, created_at, updated_at)
     select gen_random_uuid(), ?, a.id, 'bench', '{}', '{}', now(), now() from unnest(?::uuid[]) a(id) returning id`,
    [ownerId, `{${agents.map((a) => a.id).join(',')}}`],
  );
  await conn.execute(
    `insert into messages (id, conversation_id, agent_id, content, role, depth, created_at, updated_at)
     select gen_random_uuid(), c.id, c.agent_id, 'message ' || m, case when m % 2 = 0 then 'ASSISTANT' else 'USER' end::message_role, 0, now(), now()
       from conversations c, generate_series(1, ?) m where c.owner_id = ?`,
    [MESSAGES, ownerId],
  );
  await conn.execute(
    `insert into runs (id, conversation_id, owner_id, agent_id, model, branch_key, status, input_message_id, response_message_id, created_at, updated_at)
     select gen_random_uuid(), m.conversation_id, ?, m.agent_id, 'demo/demo', m.id::text, 'COMPLETED', m.id, m.id, now(), now()
       from messages m where m.role = 'ASSISTANT'`,
    [ownerId],
  );
  await conn.execute(`update messages m set run_id = r.id from runs r where r.response_message_id = m.id`);
  await conn.execute('analyze');
  return { conversations: conversations.map((c) => c.id), agents: agents.map((a) => a.id) };
}

async function timeEach(ids: string[], fn: (id: string) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (const id of ids) {
    const start = performance.now();
    await fn(id);
    samples.push(performance.now() - start);
  }
  return samples;
}

async function main(): Promise<void> {
  const url = scratchDatabaseUrl('bench');
  await ensureDatabase(url);
  let app: ParleyApp | undefined;
  let orm: MikroORM | undefined;
  try {
    const adminKey = `pk_bench_${randomBytes(12).toString('hex')}`;
    app = await startParley(
      loadConfig({ DATABASE_URL: url, PORT: '0', HOST: '127.0.0.1', PARLEY_ADMIN_KEY: adminKey, PARLEY_WORKER: 'off', LOG_LEVEL: 'silent' }),
    );
    orm = await MikroORM.init(ormConfig({ clientUrl: url }));
    const em = orm.em.fork();
    const [admin] = await em.getConnection().execute<{ id: string }[]>(`select id from users where role = 'ADMIN' limit 1`);
    const built = Date.now();
    const { conversations, agents } = await buildFixture(em, admin.id);
    const buildMs = Date.now() - built;

    const gql = gqlClient(app.url, adminKey);
    const deleteConversation = (id: string) =>
      gql('mutation($id: ID!) { deleteConversation(input: { conversationId: $id }) { deletedConversationId } }', { id });
    const deleteAgent = (id: string) => gql('mutation($id: ID!) { deleteAgent(input: { agentId: $id }) { deletedAgentId } }', { id });

    // Agents are deleted from conversations that stay, so each deletion has its full set of rows to clear.
    const measureSchema = async (offset: number) => ({
      deleteConversation: summary(await timeEach(conversations.slice(offset, offset + DELETES), deleteConversation)),
      deleteAgent: summary(await timeEach(agents.slice(CONVERSATIONS - offset - DELETES, CONVERSATIONS - offset), deleteAgent)),
    });
    const indexed = await measureSchema(0);
    for (const name of FK_INDEXES) await em.getConnection().execute(`drop index "${name}"`);
    const unindexed = await measureSchema(DELETES);

    const result = {
      date: new Date().toISOString(),
      machine: `${process.platform} ${process.arch}, node ${process.version}`,
      settings: { conversations: CONVERSATIONS, messagesEach: MESSAGES, runsEach: Math.floor(MESSAGES / 2), deletesPerSchema: DELETES, fixtureBuildMs: buildMs },
      withForeignKeyIndexesMs: indexed,
      withoutForeignKeyIndexesMs: unindexed,
      speedupP50: {
        deleteConversation: round(unindexed.deleteConversation.p50 / indexed.deleteConversation.p50, 1),
        deleteAgent: round(unindexed.deleteAgent.p50 / indexed.deleteAgent.p50, 1),
      },
    };
    console.log(JSON.stringify(result, null, 2));
    writeResult('delete', result);
  } finally {
    await orm?.close(true);
    await app?.stop();
    await dropDatabase(url);
  }
}

runBenchmark(main);
