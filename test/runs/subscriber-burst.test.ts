import { collect, startTestParley, type TestParley } from '../support/parley';
import { RUN_EVENTS, SEND, type RunEventsData, type SendData } from './run-helpers';

/**
 * The first subscriptions of a fresh Redis-mode node open its pub/sub
 * connection; a burst of them must all be served, live and to the end.
 */
describe('a burst of runEvents subscriptions on a fresh Redis-mode node', () => {
  let p: TestParley;
  beforeAll(async () => {
    p = await startTestParley({ redis: true, env: { PARLEY_DEMO_TOKEN_DELAY_MS: '5', PARLEY_RATE_LIMIT_RUNS_PER_MINUTE: '1000', PARLEY_MAX_ACTIVE_RUNS_PER_USER: '1000' } });
  });
  afterAll(() => p?.stop());

  it('completes all 30, every one with all of its events', async () => {
    const runIds = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const c = await p.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "burst" }) { conversation { id } } }');
        const sent = await p.gql<SendData>(SEND, { input: { conversationId: c.data!.createConversation.conversation.id, content: 'Hello there' } });
        return sent.data!.sendMessage.run.id;
      }),
    );
    const client = p.ws();
    const streams = await Promise.all(runIds.map((runId) => collect<RunEventsData>(client, RUN_EVENTS, { runId, after: 0 }, () => false, 20_000)));
    for (const items of streams) {
      expect(items.flatMap((i) => i.errors ?? [])).toEqual([]);
      const seqs = items.map((i) => i.data!.runEvents.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(items.at(-1)!.data!.runEvents.__typename).toBe('RunCompleted');
    }
  }, 60_000);
});
