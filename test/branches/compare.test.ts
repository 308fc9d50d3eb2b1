import type { Harness } from '../runs/fake-run-harness';
import { expectWellFormed, type Ev } from '../runs/fake-run-harness';
import { DEMO_MODELS, DEMO_PRICE, failure, newConversation, ok, path, say, startBranchHarness } from './branch-helpers';

const COMPARE = `mutation($input: CompareModelsInput!) { compareModels(input: $input) { comparison { id runs { id status model } } } }`;
const COMPARISON = `query($id: ID!) { comparison(id: $id) {
  id parent { id content children { id model } }
  entries { model status promptTokens completionTokens costUsd timeToFirstTokenMs durationMs
    run { id status inputMessage { id } }
    message { id role content model parent { id } siblingIndex siblingCount usage { promptTokens completionTokens costUsd } } } } }`;

type CompareData = { compareModels: { comparison: { id: string; runs: { id: string; status: string; model: string }[] } } };
interface Entry {
  model: string;
  status: string;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  timeToFirstTokenMs: number | null;
  durationMs: number | null;
  run: { id: string; status: string; inputMessage: { id: string } };
  message: {
    id: string; role: string; content: string; model: string; parent: { id: string }; siblingIndex: number; siblingCount: number;
    usage: { promptTokens: number; completionTokens: number; costUsd: number };
  } | null;
}
type ComparisonData = {
  comparison: { id: string; parent: { id: string; content: string; children: { id: string; model: string }[] }; entries: Entry[] };
};

describe('compareModels', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBranchHarness();
  });
  afterAll(() => h.stop());

  const compare = (input: Record<string, unknown>, key = h.key) => h.p.gql<CompareData>(COMPARE, { input }, key);

  it('streams three models at once as sibling answers and lists them side by side', async () => {
    const c = await newConversation(h);
    const question = await say(h, { conversationId: c, content: 'compare us' });
    const { comparison } = ok(await compare({ conversationId: c, parentId: question.message.id, models: DEMO_MODELS })).compareModels;
    expect(comparison.runs.map((r) => [r.model, r.status])).toEqual(DEMO_MODELS.map((m) => [m, 'QUEUED']));

    // All three subscriptions are open at the same time, each on its own run.
    const watches = comparison.runs.map((r) => h.watch(r.id));
    const streams = await Promise.all(watches.map((w) => w.done));
    streams.forEach((events, i) => expectWellFormed(events, comparison.runs[i].id, 'RunCompleted'));
    const text = (events: Ev[]) => events.filter((e) => e.__typename === 'TokenDelta').map((e) => e.text).join('');
    for (const events of streams) expect(text(events)).toContain('compare us');
    // They really ran side by side: each started before any other finished.
    const span = (events: Ev[]) => ({
      start: Date.parse((events.find((e) => e.__typename === 'TokenDelta') as Ev & { at: string }).at),
      end: Date.parse((events.at(-1) as Ev & { at: string }).at),
    });
    const spans = streams.map(span);
    expect(Math.max(...spans.map((s) => s.start))).toBeLessThan(Math.min(...spans.map((s) => s.end)));

    const view = ok(await h.p.gql<ComparisonData>(COMPARISON, { id: comparison.id }, h.key)).comparison;
    expect(view.parent).toMatchObject({ id: question.message.id, content: 'compare us' });
    // The earlier answer plus one sibling per model; answers are ordered as they were written, whoever finished first.
    const children = view.parent.children.map((m) => m.model);
    expect(children[0]).toBe('demo/demo');
    expect([...children.slice(1)].sort()).toEqual([...DEMO_MODELS].sort());
    expect(view.entries.map((e) => e.model)).toEqual(DEMO_MODELS);
    view.entries.forEach((e, i) => {
      expect(e).toMatchObject({ status: 'COMPLETED', run: { id: comparison.runs[i].id, status: 'COMPLETED', inputMessage: { id: question.message.id } } });
      expect(e.message).toMatchObject({ role: 'ASSISTANT', model: DEMO_MODELS[i], parent: { id: question.message.id }, siblingCount: 4 });
      expect(e.message!.siblingIndex).toBe(children.indexOf(DEMO_MODELS[i]));
      expect(e.message!.content).toBe(text(streams[i]));
      expect(e.promptTokens).toBeGreaterThan(0);
      expect(e.completionTokens).toBeGreaterThan(0);
      expect(e.costUsd).toBeCloseTo((e.promptTokens * DEMO_PRICE.inputPricePer1M + e.completionTokens * DEMO_PRICE.outputPricePer1M) / 1e6, 12);
      expect(e.message!.usage).toMatchObject({ promptTokens: e.promptTokens, completionTokens: e.completionTokens });
      expect(e.timeToFirstTokenMs).toEqual(expect.any(Number));
      expect(e.durationMs).toBeGreaterThanOrEqual(e.timeToFirstTokenMs!);
    });
    // The branch the user was reading is left as it was.
    expect((await path(h, c)).map((m) => m.model)).toEqual([null, 'demo/demo']);
  });

  it('rejects bad model lists and bad parents before starting anything', async () => {
    const c = await newConversation(h);
    const question = await say(h, { conversationId: c, content: 'q' });
    const [, answer] = await path(h, c);
    const input = { conversationId: c, parentId: question.message.id };
    const cases: [Record<string, unknown>, string, string?][] = [
      [{ ...input, models: ['demo/alpha'] }, 'BAD_USER_INPUT', 'models'],
      [{ ...input, models: ['demo/a', 'demo/b', 'demo/c', 'demo/d', 'demo/e', 'demo/f'] }, 'BAD_USER_INPUT', 'models'],
      [{ ...input, models: ['demo/alpha', 'demo/alpha'] }, 'BAD_USER_INPUT', 'models'],
      [{ ...input, models: ['demo/alpha', 'nowhere/model'] }, 'BAD_USER_INPUT', 'models'],
      [{ ...input, parentId: answer.id, models: DEMO_MODELS }, 'BAD_USER_INPUT', 'parentId'],
      [{ ...input, parentId: 'x', models: DEMO_MODELS }, 'BAD_USER_INPUT', 'parentId'],
      [{ ...input, conversationId: 'x', models: DEMO_MODELS }, 'BAD_USER_INPUT', 'conversationId'],
    ];
    for (const [bad, code, field] of cases) expect(failure(await compare(bad))).toEqual({ code, field });
    const stranger = await h.p.newUser();
    expect(failure(await compare({ ...input, models: DEMO_MODELS }, stranger.apiKey)).code).toBe('NOT_FOUND');
    const children = ok(await h.p.gql<{ message: { children: unknown[] } }>('query($id: ID!) { message(id: $id) { children { id } } }', { id: question.message.id }, h.key));
    expect(children.message.children).toHaveLength(1);
  });

  it("answers NOT_FOUND for another user's comparison and for an unknown id", async () => {
    const c = await newConversation(h);
    const question = await say(h, { conversationId: c, content: 'mine' });
    const { comparison } = ok(await compare({ conversationId: c, parentId: question.message.id, models: DEMO_MODELS.slice(0, 2) })).compareModels;
    await Promise.all(comparison.runs.map((r) => h.watch(r.id).done));
    const stranger = await h.p.newUser();
    expect(failure(await h.p.gql(COMPARISON, { id: comparison.id }, stranger.apiKey)).code).toBe('NOT_FOUND');
    expect(failure(await h.p.gql(COMPARISON, { id: '0196f2a4-7c1d-7abc-8def-0123456789ab' }, h.key)).code).toBe('NOT_FOUND');
    expect(failure(await h.p.gql(COMPARISON, { id: 'nope' }, h.key))).toEqual({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(ok(await h.p.gql<ComparisonData>(COMPARISON, { id: comparison.id }, h.key)).comparison.entries).toHaveLength(2);
  });
});
