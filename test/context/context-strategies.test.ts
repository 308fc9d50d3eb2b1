import { startTestParley, type TestParley } from '../support/parley';
import { SEND, type SendData } from '../runs/run-helpers';
import { PREVIEW, SMALL_WINDOW_ENV, TOKENS_90, contextClient, droppedAs, sentIds, summaryRows, type Plan } from './context-helpers';

const PIN = 'mutation($i: PinMessageInput!) { pinMessage(input: $i) { message { id pinned excluded } } }';
const EXCLUDE = 'mutation($i: ExcludeMessageInput!) { excludeMessage(input: $i) { message { id pinned excluded } } }';

describe('context strategies through the API (demo model with a 400-token window)', () => {
  let p: TestParley;
  let key: string;
  let api: ReturnType<typeof contextClient>;

  beforeAll(async () => {
    p = await startTestParley({ env: SMALL_WINDOW_ENV });
    key = (await p.newUser()).apiKey;
    api = contextClient(p, key);
  });
  afterAll(() => p.stop());

  it('SLIDING_WINDOW (the default) keeps the newest messages that fit and drops the oldest', async () => {
    const c = await api.conversation();
    const m = await api.thread(c, 10);
    const plan = await api.preview(c);
    // 297 tokens for messages: the latest 34, then 7 more (238); 10 × 34 would be 340.
    expect(plan).toMatchObject({ strategy: 'SLIDING_WINDOW', model: 'demo/demo', contextWindow: 400, reservedOutputTokens: 100, budgetTokens: 300, toolTokens: 0, summary: null });
    expect(sentIds(plan)).toEqual(m.slice(2));
    expect(plan.dropped).toEqual(m.slice(0, 2).map((id) => ({ messageId: id, tokens: TOKENS_90, reason: 'WINDOW' })));
    expect(plan.items.every((i) => i.kind === 'MESSAGE' && i.tokens === TOKENS_90)).toBe(true);
    expect(plan.usedTokens).toBe(8 * TOKENS_90 + 3);
    // An earlier leaf plans its own branch.
    expect(sentIds(await api.preview(c, m[4]))).toEqual(m.slice(0, 5));
  });

  it('PINNED_FIRST always keeps pinned messages; excluded ones are never sent', async () => {
    const c = await api.conversation({ contextStrategy: 'PINNED_FIRST' });
    const m = await api.thread(c, 10);
    const pinned = await api.ok<{ pinMessage: { message: { id: string; pinned: boolean; excluded: boolean } } }>(PIN, { i: { messageId: m[0], pinned: true } });
    expect(pinned.pinMessage.message).toEqual({ id: m[0], pinned: true, excluded: false });
    let plan = await api.preview(c);
    // 297 - 34 latest - 34 pinned = 229: six more.
    expect(sentIds(plan)).toEqual([m[0], ...m.slice(3)]);
    expect(droppedAs(plan, 'WINDOW')).toEqual([m[1], m[2]]);

    const excluded = await api.ok<{ excludeMessage: { message: { excluded: boolean } } }>(EXCLUDE, { i: { messageId: m[5], excluded: true } });
    expect(excluded.excludeMessage.message.excluded).toBe(true);
    plan = await api.preview(c);
    expect(sentIds(plan)).toEqual([m[0], m[2], m[3], m[4], m[6], m[7], m[8], m[9]]);
    expect(plan.dropped).toEqual([
      { messageId: m[1], tokens: TOKENS_90, reason: 'WINDOW' },
      { messageId: m[5], tokens: TOKENS_90, reason: 'EXCLUDED' },
    ]);

    // Excluded beats pinned, and under SLIDING_WINDOW pins mean nothing.
    await api.ok(EXCLUDE, { i: { messageId: m[0], excluded: true } });
    await api.settings(c, { contextStrategy: null });
    plan = await api.preview(c);
    expect(plan.strategy).toBe('SLIDING_WINDOW');
    expect(droppedAs(plan, 'EXCLUDED')).toEqual([m[0], m[5]]);
    const read = await api.ok<{ message: { pinned: boolean; excluded: boolean } }>('query($id: ID!) { message(id: $id) { pinned excluded } }', { id: m[0] });
    expect(read.message).toEqual({ pinned: true, excluded: true });
  });

  it('SUMMARIZE replaces the older turns with one summary, written once and reused', async () => {
    const c = await api.conversation({ contextStrategy: 'SUMMARIZE' });
    const conv = await api.ok<{ conversation: { settings: { contextStrategy: string } } }>('query($id: ID!) { conversation(id: $id) { settings { contextStrategy } } }', { id: c });
    expect(conv.conversation.settings.contextStrategy).toBe('SUMMARIZE');
    const m = await api.thread(c, 10);
    const first = await api.preview(c);
    // 263 after the latest: a third (87) is kept for the summary, so the window holds five more; m0–m3 are summarized.
    expect(sentIds(first)).toEqual(['SUMMARY', ...m.slice(4)]);
    expect(first.dropped).toEqual(m.slice(0, 4).map((id) => ({ messageId: id, tokens: TOKENS_90, reason: 'SUMMARIZED' })));
    expect(first.summary).toMatchObject({ messageCount: 4, throughMessageId: m[3] });
    expect(first.summary!.content.length).toBeGreaterThan(0);
    expect(first.items[0]).toEqual({ messageId: null, role: 'SYSTEM', tokens: first.summary!.tokens, kind: 'SUMMARY' });
    expect(first.summary!.tokens).toBeLessThanOrEqual(87);
    expect(first.usedTokens).toBe(first.summary!.tokens + 6 * TOKENS_90 + 3);
    expect(first.usedTokens).toBeLessThanOrEqual(first.budgetTokens);
    expect(await summaryRows(p, c)).toEqual([{ through_message_id: m[3], message_count: 4 }]);

    // The second preview reuses the stored summary: no new row, same plan.
    expect(await api.preview(c)).toEqual(first);
    expect(await summaryRows(p, c)).toHaveLength(1);

    // Two more turns push m4 and m5 out: the stored summary is extended with just those.
    m.push(...(await api.thread(c, 2, 10)));
    const second = await api.preview(c);
    expect(sentIds(second)).toEqual(['SUMMARY', ...m.slice(6)]);
    expect(droppedAs(second, 'SUMMARIZED')).toEqual(m.slice(0, 6));
    expect(second.summary).toMatchObject({ messageCount: 6, throughMessageId: m[5] });
    expect(await summaryRows(p, c)).toEqual([
      { through_message_id: m[3], message_count: 4 },
      { through_message_id: m[5], message_count: 6 },
    ]);

    // Pinning a message after the summaries leaves them; excluding one they cover forgets them.
    await api.ok(PIN, { i: { messageId: m[9], pinned: true } });
    expect(await summaryRows(p, c)).toHaveLength(2);
    await api.ok(EXCLUDE, { i: { messageId: m[4], excluded: true } });
    expect(await summaryRows(p, c)).toEqual([{ through_message_id: m[3], message_count: 4 }]);
    const third = await api.preview(c);
    expect(droppedAs(third, 'EXCLUDED')).toEqual([m[4]]);
    expect(third.summary).toMatchObject({ messageCount: 5, throughMessageId: m[5] });
    expect(await summaryRows(p, c)).toHaveLength(2);
  });

  it('HYBRID keeps pins, summarizes the rest of the older part and sends the recent window', async () => {
    const c = await api.conversation({ contextStrategy: 'HYBRID' });
    const m = await api.thread(c, 10);
    await api.ok(PIN, { i: { messageId: m[1], pinned: true } });
    const plan = await api.preview(c);
    // 297 - 34 latest - 34 pinned = 229; a third (76) for the summary leaves four in the window.
    expect(sentIds(plan)).toEqual(['SUMMARY', m[1], ...m.slice(5)]);
    expect(droppedAs(plan, 'SUMMARIZED')).toEqual([m[0], m[2], m[3], m[4]]);
    // The summary stands for the whole prefix (pinned m1 included), so SUMMARIZE can reuse it as it is.
    expect(plan.summary).toMatchObject({ messageCount: 5, throughMessageId: m[4] });
    expect(await summaryRows(p, c)).toHaveLength(1);
    expect(await api.preview(c)).toEqual(plan);
    await api.settings(c, { contextStrategy: 'SUMMARIZE' });
    const summarized = await api.preview(c);
    expect(summarized.summary).toEqual(plan.summary);
    expect(droppedAs(summarized, 'SUMMARIZED')).toEqual(m.slice(0, 5));
    expect(await summaryRows(p, c)).toHaveLength(1);
  });

  it('answers BAD_USER_INPUT on systemPrompt when the system prompt alone exceeds the window', async () => {
    const c = await api.conversation({ systemPrompt: 'You are terse. '.repeat(70) });
    await api.thread(c, 1);
    const res = await p.gql<{ previewContext: Plan }>(PREVIEW, { c }, key);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'systemPrompt', reason: 'SYSTEM_PROMPT_TOO_LARGE', budgetTokens: 300 });
    expect(res.errors?.[0].message).toMatch(/^systemPrompt: the system prompt alone takes \d+ tokens/);
  });

  it('counts the system prompt and the agent tools, and previews another model', async () => {
    const c = await api.conversation({ systemPrompt: 'Be brief.' });
    const [u] = await api.thread(c, 1);
    const plan = await api.preview(c);
    expect(plan.items).toEqual([
      { messageId: null, role: 'SYSTEM', tokens: 4 + 3, kind: 'SYSTEM_PROMPT' },
      { messageId: u, role: 'USER', tokens: TOKENS_90, kind: 'MESSAGE' },
    ]);
    const agent = await api.ok<{ createAgent: { agent: { id: string } } }>('mutation { createAgent(input: { name: "a", model: "demo/demo", tools: ["calculator"], instructions: "Agent rules." }) { agent { id } } }', {});
    await api.ok('mutation($i: UpdateConversationInput!) { updateConversation(input: $i) { conversation { id } } }', { i: { conversationId: c, agentId: agent.createAgent.agent.id } });
    const withAgent = await api.preview(c);
    expect(withAgent.items[0].tokens).toBe(4 + 4);
    expect(withAgent.toolTokens).toBeGreaterThan(0);
    expect(withAgent.usedTokens).toBe(8 + TOKENS_90 + withAgent.toolTokens + 3);
    const other = await p.gql<{ previewContext: Plan }>(PREVIEW, { c, model: 'nowhere/model' }, key);
    expect(other.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'model' });
  });

  it("hides other users' conversations and messages", async () => {
    const c = await api.conversation();
    const [m] = await api.thread(c, 1);
    const stranger = (await p.newUser()).apiKey;
    expect((await p.gql(PREVIEW, { c }, stranger)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await p.gql(PIN, { i: { messageId: m, pinned: true } }, stranger)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await p.gql(EXCLUDE, { i: { messageId: m, excluded: true } }, stranger)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const other = await api.conversation();
    expect((await p.gql(PREVIEW, { c: other, leaf: m }, key)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('exposes the stored plan of a run as Run.contextPlan', async () => {
    const c = await api.conversation();
    const sent = await api.ok<SendData>(SEND, { input: { conversationId: c, content: 'hello' } });
    const runId = sent.sendMessage.run.id;
    // Wait for the run to end so nothing else writes the row meanwhile.
    for (let i = 0; i < 100; i++) {
      const r = await api.ok<{ run: { status: string } }>('query($id: ID!) { run(id: $id) { status } }', { id: runId });
      if (r.run.status === 'COMPLETED') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const plan = await api.preview(c);
    await p.app.runtime.orm.em.getConnection().execute('update runs set context_plan = ?::jsonb where id = ?', [JSON.stringify(plan), runId]);
    const read = await api.ok<{ run: { contextPlan: Plan } }>(
      `query($id: ID!) { run(id: $id) { contextPlan { strategy model contextWindow reservedOutputTokens budgetTokens usedTokens toolTokens
        items { messageId role tokens kind } dropped { messageId tokens reason } summary { content tokens messageCount throughMessageId } summaryError } } }`,
      { id: runId },
    );
    expect(read.run.contextPlan).toEqual(plan);
  });
});
