import { SEND, type RunEventItem } from '../runs/run-helpers';
import { numberedTokens, startFaultCluster, tokenText, type FaultCluster, type RunEventsError } from './cluster';

/**
 * Redis restarted without persistence while a run streams, with subscribers
 * on both API nodes: each subscriber gets every token exactly once, or ends
 * with EVENTS_LOST at a seq it really had — never a silent gap — and runs
 * started after the restart stream completely.
 */
describe('fault: Redis restarts without persistence mid-run', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await startFaultCluster();
  }, 300_000);

  afterAll(async () => {
    await cluster?.close();
  }, 60_000);

  const tokensOf = (events: RunEventItem[]) => events.filter((e) => e.__typename === 'TokenDelta').length;

  /** What a subscriber was given is a gap-free prefix of the run's events, and its text a prefix of the answer. */
  function expectHonest(outcome: { events: RunEventItem[]; error?: RunEventsError }, runId: string, content: string): void {
    const seqs = outcome.events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    if (outcome.error) {
      expect(outcome.error.extensions).toMatchObject({ code: 'EVENTS_LOST', runId, lastSafeSeq: seqs.length });
      expect(content.startsWith(tokenText(outcome.events))).toBe(true);
    } else {
      expect(outcome.events.at(-1)?.__typename).toBe('RunCompleted');
      expect(tokenText(outcome.events)).toBe(content);
    }
  }

  it('ends each subscriber with every token once or EVENTS_LOST at its last safe seq; new runs then stream in full', async () => {
    const key = await cluster.newUser();
    const tokens = numberedTokens(300);
    cluster.fake.enqueue({ kind: 'stream', text: tokens, delayMs: 20 });
    const conversationId = await cluster.conversation(key);
    const { run } = await cluster.send(key, conversationId, 'A long answer, please');
    const watchers = [cluster.watch(0, run.id, key), cluster.watch(1, run.id, key)];
    await Promise.all(watchers.map((w) => w.waitFor((events) => tokensOf(events) >= 30)));
    // The restart must land mid-stream for this test to mean anything.
    expect(cluster.fake.requests[0]?.finishedAt).toBeUndefined();
    await cluster.redis.restart();

    const outcomes = await Promise.all(watchers.map((w) => w.done));
    const final = await cluster.waitForRun(run.id, key);
    const content = final.responseMessage?.content ?? '';
    expect(tokens.join('').startsWith(content)).toBe(true);
    for (const outcome of outcomes) expectHonest(outcome, run.id, content);

    // A client that lost events and resumes where it can vouch for is told again, on either node.
    for (const [node, outcome] of outcomes.entries()) {
      if (!outcome.error) continue;
      const safe = outcome.error.extensions!.lastSafeSeq!;
      const resumed = await cluster.watch(1 - node, run.id, key, safe).done;
      expect(resumed.events).toEqual([]);
      expect(resumed.error?.extensions).toMatchObject({ code: 'EVENTS_LOST', runId: run.id, lastSafeSeq: safe });
    }

    // After the restart, a new run streams completely, to subscribers on both nodes.
    const fresh = numberedTokens(80);
    cluster.fake.enqueue({ kind: 'stream', text: fresh, delayMs: 2 });
    const next = await cluster.send(key, await cluster.conversation(key, 1), 'And another one', 1);
    const after = await Promise.all([cluster.watch(0, next.run.id, key).done, cluster.watch(1, next.run.id, key).done]);
    const nextRun = await cluster.waitForRun(next.run.id, key);
    expect(nextRun).toMatchObject({ status: 'COMPLETED', responseMessage: { content: fresh.join('') } });
    for (const outcome of after) {
      expect(outcome.error).toBeUndefined();
      expectHonest(outcome, next.run.id, fresh.join(''));
    }
  }, 240_000);

  it('answers sendMessage while Redis is down with a retryable code, never an internal error, and leaves the branch usable', async () => {
    const key = await cluster.newUser();
    const conversationId = await cluster.conversation(key);
    await cluster.redis.stop();
    let refused: Awaited<ReturnType<FaultCluster['gql']>>;
    try {
      refused = await cluster.gql(0, SEND, { input: { conversationId, content: 'Anyone there?' } }, key);
    } finally {
      await cluster.redis.start();
    }
    expect(refused.data ?? null).toBeNull();
    expect(refused.errors?.[0].extensions?.code).toBe('SERVICE_UNAVAILABLE');

    // Whatever was written is whole: a new message on the conversation starts a run that completes.
    cluster.fake.enqueue({ kind: 'stream', text: ['back'] });
    // The nodes reconnect to Redis on their own; until they have, a send may be refused the same way.
    let next: Awaited<ReturnType<FaultCluster['send']>> | undefined;
    for (let attempt = 0; !next; attempt++) {
      try {
        next = await cluster.send(key, conversationId, 'Now?');
      } catch (err) {
        if (attempt >= 50 || !String(err).includes('SERVICE_UNAVAILABLE')) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const done = await cluster.waitForRun(next.run.id, key);
    expect(done).toMatchObject({ status: 'COMPLETED', responseMessage: { content: 'back' } });
  }, 240_000);
});
