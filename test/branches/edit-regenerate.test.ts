import { MODEL, type Harness } from '../runs/fake-run-harness';
import { append, completed, failure, newConversation, ok, path, say, startBranchHarness, type Node } from './branch-helpers';

const EDIT = `mutation($input: EditMessageInput!) { editMessage(input: $input) {
  message { id role content depth editedAt editCount edits { at previousContent } parent { id } siblingIndex siblingCount }
  run { id status model } } }`;
const REGENERATE = `mutation($input: RegenerateMessageInput!) { regenerateMessage(input: $input) { run { id status model inputMessage { id } } } }`;
const SIBLINGS = `query($id: ID!) { message(id: $id) { siblingIndex siblingCount model parent { id } run { id } } }`;
const LEAF = `query($id: ID!) { conversation(id: $id) { activeLeaf { id } } }`;

type EditData = {
  editMessage: {
    message: {
      id: string; role: string; content: string; depth: number; editedAt: string | null; editCount: number;
      edits: { at: string; previousContent: string }[]; parent: { id: string } | null; siblingIndex: number; siblingCount: number;
    };
    run: { id: string; status: string; model: string } | null;
  };
};
type RegenerateData = { regenerateMessage: { run: { id: string; status: string; model: string; inputMessage: { id: string } } } };

/** What must not change on a branch that was left alone (sibling positions do change: a branch was added). */
const frozen = (nodes: Node[]) => nodes.map(({ id, role, content, reasoning, model, status, depth, usage, parent, run, createdAt }) => ({
  id, role, content, reasoning, model, status, depth, usage, parent, run, createdAt,
}));

describe('editMessage and regenerateMessage', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBranchHarness();
  });
  afterAll(() => h.stop());

  const edit = (input: Record<string, unknown>, key = h.key) => h.p.gql<EditData>(EDIT, { input }, key);
  const leaf = async (c: string) => ok(await h.p.gql<{ conversation: { activeLeaf: { id: string } } }>(LEAF, { id: c }, h.key)).conversation.activeLeaf.id;

  it('edits a user message into a new branch with its own run; the old branch is unchanged node by node', async () => {
    const c = await newConversation(h);
    await say(h, { conversationId: c, content: 'hello' });
    const second = await say(h, { conversationId: c, content: 'tell me more' });
    const before = await path(h, c);
    expect(before.map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'USER', 'ASSISTANT']);

    const { message, run } = ok(await edit({ messageId: second.message.id, content: 'tell me less' })).editMessage;
    expect(message).toMatchObject({ role: 'USER', content: 'tell me less', depth: 2, parent: { id: before[1].id }, siblingIndex: 1, siblingCount: 2, editCount: 0 });
    expect(run).toMatchObject({ status: 'QUEUED', model: 'demo/demo' });
    await completed(h, run!.id);

    const active = await path(h, c);
    expect(active.slice(0, 2).map((m) => m.id)).toEqual(before.slice(0, 2).map((m) => m.id));
    expect(active[2]).toMatchObject({ id: message.id, content: 'tell me less' });
    expect(active[3]).toMatchObject({ role: 'ASSISTANT', parent: { id: message.id }, run: { id: run!.id } });
    expect(active[3].content).toContain('tell me less');
    expect(await leaf(c)).toBe(active[3].id);

    const old = await path(h, c, before[3].id);
    expect(frozen(old)).toEqual(frozen(before));
    const oldUser = ok(await h.p.gql<{ message: { siblingIndex: number; siblingCount: number } }>(SIBLINGS, { id: second.message.id }, h.key));
    expect(oldUser.message).toMatchObject({ siblingIndex: 0, siblingCount: 2 });
  });

  it('edits a root user message into a second root, not under the active leaf', async () => {
    const c = await newConversation(h);
    const first = await say(h, { conversationId: c, content: 'hi' });
    const before = await path(h, c);
    const { message, run } = ok(await edit({ messageId: first.message.id, content: 'hi there' })).editMessage;
    expect(message).toMatchObject({ depth: 0, parent: null, siblingIndex: 1, siblingCount: 2 });
    await completed(h, run!.id);
    expect((await path(h, c)).map((m) => [m.role, m.depth])).toEqual([['USER', 0], ['ASSISTANT', 1]]);
    expect(frozen(await path(h, c, before[1].id))).toEqual(frozen(before));
  });

  it('edits in place without a run and records every edit', async () => {
    const c = await newConversation(h);
    const system = await append(h, { conversationId: c, role: 'SYSTEM', content: 'be brif' });
    const user = await append(h, { conversationId: c, role: 'USER', content: 'helo' });
    const before = await path(h, c);

    const first = ok(await edit({ messageId: system, content: 'be brief', inPlace: true })).editMessage;
    expect(first.run).toBeNull();
    expect(first.message).toMatchObject({ id: system, content: 'be brief', editCount: 1, edits: [{ previousContent: 'be brif' }] });
    expect(Date.parse(first.message.editedAt!)).toBeGreaterThan(Date.now() - 60_000);

    ok(await edit({ messageId: user, content: 'hell', inPlace: true }));
    const second = ok(await edit({ messageId: user, content: 'hello', inPlace: true })).editMessage.message;
    expect(second).toMatchObject({ content: 'hello', editCount: 2, siblingCount: 1 });
    expect(second.edits.map((e) => e.previousContent)).toEqual(['helo', 'hell']);
    expect(second.editedAt).toBe(second.edits[1].at);

    // Same nodes, new contents, nothing started.
    const after = await path(h, c);
    expect(after.map((m) => m.id)).toEqual(before.map((m) => m.id));
    expect(after.map((m) => m.content)).toEqual(['be brief', 'hello']);
    expect(after.every((m) => m.run === null)).toBe(true);
    const unchanged = ok(await edit({ messageId: user, content: 'hello', inPlace: true })).editMessage.message;
    expect(unchanged.editCount).toBe(2);
  });

  it('rejects what cannot be edited, with the field at fault', async () => {
    const c = await newConversation(h);
    const system = await append(h, { conversationId: c, role: 'SYSTEM', content: 'rules' });
    const answer = await append(h, { conversationId: c, role: 'ASSISTANT', content: 'an answer' });
    const stranger = await h.p.newUser();
    expect(failure(await edit({ messageId: system, content: 'new rules' }))).toEqual({ code: 'BAD_USER_INPUT', field: 'messageId' });
    expect(failure(await edit({ messageId: answer, content: 'x', inPlace: true }))).toEqual({ code: 'BAD_USER_INPUT', field: 'messageId' });
    expect(failure(await edit({ messageId: system, content: '  ', inPlace: true }))).toEqual({ code: 'BAD_USER_INPUT', field: 'content' });
    expect(failure(await edit({ messageId: 'nope', content: 'x' }))).toEqual({ code: 'BAD_USER_INPUT', field: 'messageId' });
    expect(failure(await edit({ messageId: system, content: 'x', inPlace: true }, stranger.apiKey)).code).toBe('NOT_FOUND');
    expect((await path(h, c)).map((m) => m.content)).toEqual(['rules', 'an answer']);
  });

  it('refuses to edit a message while a run is active on its branch (CONFLICT), and allows it once the run ends', async () => {
    h.fake.enqueue({ kind: 'stream', toolCalls: [{ id: 'call_ask', name: 'ask', argumentsChunks: ['{}'] }] });
    const clientTools = [{ name: 'ask', description: 'Ask the user', parameters: { type: 'object', properties: {} } }];
    const c = await newConversation(h);
    const earlier = await say(h, { conversationId: c, content: 'first' });
    const sent = ok(await h.p.gql<{ sendMessage: { message: { id: string }; run: { id: string } } }>(
      'mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } run { id } } }',
      { input: { conversationId: c, content: 'second', model: MODEL, settings: { clientTools } } },
      h.key,
    )).sendMessage;
    const watch = h.watch(sent.run.id);
    await watch.waitFor((es) => es.some((e) => e.__typename === 'RequiresAction'));

    for (const input of [
      { messageId: sent.message.id, content: 'other' },
      { messageId: sent.message.id, content: 'other', inPlace: true },
      // The paused run's context starts above: editing there would change what it reads.
      { messageId: earlier.message.id, content: 'other', inPlace: true },
    ]) {
      const res = await edit(input);
      expect(failure(res).code).toBe('CONFLICT');
      expect(res.errors![0].extensions!.activeRunId).toBe(sent.run.id);
    }
    ok(await h.p.gql('mutation($input: CancelRunInput!) { cancelRun(input: $input) { run { status } } }', { input: { runId: sent.run.id } }, h.key));
    await watch.done;
    expect(ok(await edit({ messageId: sent.message.id, content: 'other', inPlace: true })).editMessage.message.content).toBe('other');
  });

  it('regenerates an answer with another model as its sibling, and follows it', async () => {
    const c = await newConversation(h);
    const first = await say(h, { conversationId: c, content: 'hello' });
    const [, answer] = await path(h, c);
    const { run } = ok(await h.p.gql<RegenerateData>(REGENERATE, { input: { messageId: answer.id, model: 'demo/beta' } }, h.key)).regenerateMessage;
    expect(run).toMatchObject({ status: 'QUEUED', model: 'demo/beta', inputMessage: { id: first.message.id } });
    await completed(h, run.id);
    const active = await path(h, c);
    expect(active[0].id).toBe(first.message.id);
    expect(active[1].id).not.toBe(answer.id);
    const fresh = ok(await h.p.gql<{ message: { siblingIndex: number; siblingCount: number; model: string; parent: { id: string }; run: { id: string } } }>(
      SIBLINGS, { id: active[1].id }, h.key)).message;
    expect(fresh).toMatchObject({ siblingIndex: 1, siblingCount: 2, model: 'demo/beta', parent: { id: first.message.id }, run: { id: run.id } });
    expect(frozen(await path(h, c, answer.id))).toEqual(frozen([active[0], answer]));
  });

  it('regenerates a tool-using answer from the question of its run', async () => {
    const agent = ok(await h.p.gql<{ createAgent: { agent: { id: string } } }>(
      'mutation { createAgent(input: { name: "calc", model: "demo/demo", tools: ["calculator"] }) { agent { id } } }', {}, h.key)).createAgent.agent.id;
    const c = await newConversation(h);
    const asked = await say(h, { conversationId: c, content: 'What is 6*7?', agentId: agent });
    const before = await path(h, c);
    expect(before.map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'TOOL', 'ASSISTANT']);
    const { run } = ok(await h.p.gql<RegenerateData>(REGENERATE, { input: { messageId: before[3].id, agentId: agent } }, h.key)).regenerateMessage;
    expect(run.inputMessage.id).toBe(asked.message.id);
    await completed(h, run.id);
    const after = await path(h, c);
    expect(after.map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'TOOL', 'ASSISTANT']);
    expect(after[1]).toMatchObject({ parent: { id: asked.message.id }, run: { id: run.id } });
    expect(after[3].content).toContain('42');
  });

  it('rejects regenerating what is not an answer, and leaves the view where it was on failure', async () => {
    const c = await newConversation(h);
    const first = await say(h, { conversationId: c, content: 'hello' });
    const leafBefore = await leaf(c);
    const regenerate = (input: Record<string, unknown>) => h.p.gql<RegenerateData>(REGENERATE, { input }, h.key);
    expect(failure(await regenerate({ messageId: first.message.id }))).toEqual({ code: 'BAD_USER_INPUT', field: 'messageId' });
    expect(failure(await regenerate({ messageId: leafBefore, model: 'nowhere/model' }))).toEqual({ code: 'BAD_USER_INPUT', field: 'model' });
    expect(failure(await regenerate({ messageId: '0196f2a4-7c1d-7abc-8def-0123456789ab' })).code).toBe('NOT_FOUND');
    expect(await leaf(c)).toBe(leafBefore);
    expect((await path(h, c)).length).toBe(2);
  });
});
