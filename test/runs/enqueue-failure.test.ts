import Redis from 'ioredis';
import { TEST_REDIS_URL, startTestParley, type TestParley } from '../support/parley';
import { SEND, type SendData } from './run-helpers';

/** A run committed in Postgres whose job Redis refuses must not hold its branch forever. */
describe('a run that cannot be queued (Redis refuses the job)', () => {
  let p: TestParley;
  let redis: Redis;
  beforeAll(async () => {
    p = await startTestParley({ redis: true, env: { PARLEY_DEMO_TOKEN_DELAY_MS: '0' } });
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await p?.stop();
  });

  it('ends FAILED (ENQUEUE_FAILED) and frees its branch for the next message', async () => {
    const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "q" }) { conversation { id } } }');
    const conversationId = c.data!.createConversation.conversation.id;
    // BullMQ numbers jobs with INCR on this key: a non-integer there makes every add fail inside Redis.
    const idKey = `${p.redisPrefix}bull:runs:id`;
    await redis.set(idKey, 'not-a-number');
    const failed = await p.gql<SendData>(SEND, { input: { conversationId, content: 'first' } });
    expect(failed.errors?.[0].extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(JSON.stringify(failed.errors)).not.toMatch(/INCR|integer|bull/i);
    const runId = failed.errors![0].extensions!.runId as string;
    const run = await p.gql<{ run: { status: string; error: { code: string } | null } }>('query($id: ID!) { run(id: $id) { status error { code } } }', { id: runId });
    expect(run.data!.run).toEqual({ status: 'FAILED', error: { code: 'ENQUEUE_FAILED' } });

    await redis.del(idKey);
    const next = await p.gql<SendData>(SEND, { input: { conversationId, content: 'second' } });
    expect(next.errors).toBeUndefined();
    expect(next.data!.sendMessage.run.status).toBe('QUEUED');
  });
});
