import { expectWellFormed, startHarness, textOf, type Ev, type Harness } from '../runs/fake-run-harness';

/**
 * Through the real server: an upstream that sends its whole answer at once
 * (no pacing) makes the worker coalesce its appends into batches, which a
 * client must not be able to tell: one event per upstream delta, the same
 * texts, gap-free seqs, and a resume from any seq — inside a batch too.
 */
describe.each([
  ['Redis log', true],
  ['memory log', false],
] as const)('an unpaced answer through the server (%s)', (_name, redis) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ redis });
  });
  afterAll(() => h?.stop());
  afterEach(() => expect(h.fake.pending()).toBe(0));

  it('reaches the client as one event per upstream delta, in order, and resumes from any seq', async () => {
    const reasoning = Array.from({ length: 150 }, (_, i) => `r${i} `);
    const text = Array.from({ length: 600 }, (_, i) => `w${i} `);
    h.fake.enqueue({ kind: 'stream', reasoning, text, delayMs: 0, usage: { promptTokens: 5, completionTokens: 750 } });
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'go');
    const events = await h.watch(run.id).done;

    expectWellFormed(events, run.id, 'RunCompleted');
    const deltas = (type: string) => events.filter((e) => e.__typename === type).map((e) => e.text);
    expect(deltas('ReasoningDelta')).toEqual(reasoning);
    expect(deltas('TokenDelta')).toEqual(text);
    expect(textOf(events)).toBe(text.join(''));

    // Resumes, from every few seqs of the run (most of them fall inside a batch of the worker's).
    const seqs = events.map((e) => e.seq);
    for (const after of [1, 2, 3, 57, 158, 159, 400, seqs.at(-2)!]) {
      const rest: Ev[] = await h.watch(run.id, after).done;
      expectWellFormed(rest, run.id, 'RunCompleted', after);
      expect(rest).toEqual(events.slice(after));
    }
    await expect(h.watch(run.id, seqs.at(-1)).done).resolves.toEqual([]);
  });
});
