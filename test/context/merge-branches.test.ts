import { startTestParley, type TestParley } from '../support/parley';
import { SMALL_WINDOW_ENV, contextClient, text90 } from './context-helpers';

const MERGE = `mutation($i: MergeBranchesInput!) { mergeBranches(input: $i) {
  message { id role content parent { id } conversation { activeLeaf { id } } } } }`;

type Merged = { mergeBranches: { message: { id: string; role: string; content: string; parent: { id: string }; conversation: { activeLeaf: { id: string } } } } };

describe('mergeBranches (demo model with a 400-token window)', () => {
  let p: TestParley;
  let key: string;
  let api: ReturnType<typeof contextClient>;

  beforeAll(async () => {
    p = await startTestParley({ env: SMALL_WINDOW_ENV });
    key = (await p.newUser()).apiKey;
    api = contextClient(p, key);
  });
  afterAll(() => p.stop());

  /** u1 → a1, then branch A (u2a → a2a) and branch B (u2b → a2b, contents given). */
  async function forked(b: string[]) {
    const c = await api.conversation();
    const u1 = await api.append(c, 'USER', 'Plan a trip to Lisbon.');
    const a1 = await api.append(c, 'ASSISTANT', 'Sure: when?');
    const u2a = await api.append(c, 'USER', 'In May.');
    const a2a = await api.append(c, 'ASSISTANT', 'May is lovely.');
    const bIds: string[] = [];
    for (const [i, content] of b.entries()) {
      bIds.push(await api.append(c, i % 2 ? 'ASSISTANT' : 'USER', content, i === 0 ? { parentId: a1 } : {}));
    }
    return { c, u1, a1, u2a, a2a, bIds };
  }

  it('appends the source turns after the fork point as one USER transcript message, now the active leaf', async () => {
    const { c, a2a, bIds } = await forked(['What about October?', 'October is warm and quieter.']);
    const res = await api.ok<Merged>(MERGE, { i: { targetLeafId: a2a, sourceLeafId: bIds[1] } });
    const m = res.mergeBranches.message;
    expect(m).toMatchObject({ role: 'USER', parent: { id: a2a }, conversation: { activeLeaf: { id: m.id } } });
    expect(m.content).toBe(
      'Merged from another branch of this conversation: the 2 messages exchanged there after this branch split off.\n\n' +
        'User: What about October?\n\nAssistant: October is warm and quieter.',
    );
    // The merged branch is ordinary context from here on.
    const plan = await api.preview(c);
    expect(plan.items.map((i) => i.messageId)).toContain(m.id);
  });

  it('leaves excluded source messages out of the transcript', async () => {
    const { a2a, bIds } = await forked(['Secret aside.', 'Noted.', 'And October?', 'Warm.']);
    await api.ok('mutation($i: ExcludeMessageInput!) { excludeMessage(input: $i) { message { id } } }', { i: { messageId: bIds[0], excluded: true } });
    const m = (await api.ok<Merged>(MERGE, { i: { targetLeafId: a2a, sourceLeafId: bIds[3] } })).mergeBranches.message;
    expect(m.content).toContain('the 3 messages');
    expect(m.content).not.toContain('Secret');
  });

  it('summarizes the source turns with the summary model when the transcript would not fit', async () => {
    // Six 34-token turns: the transcript takes far more than half of the 297-token room.
    const { a2a, bIds } = await forked(Array.from({ length: 6 }, (_, i) => text90(`turn ${i}`)));
    const m = (await api.ok<Merged>(MERGE, { i: { targetLeafId: a2a, sourceLeafId: bIds[5] } })).mergeBranches.message;
    expect(m.content.startsWith('Merged from another branch of this conversation: a summary of the 6 messages')).toBe(true);
    // The demo summary model echoes what it was asked; what matters is that the message fits the budget.
    expect(Math.ceil(m.content.length / 3) + 4).toBeLessThanOrEqual(148);
    expect(m.content).not.toContain('turn 5');
  });

  it('refuses the same leaf, ancestors, other conversations and other users', async () => {
    const { u1, a2a, bIds } = await forked(['b', 'bb']);
    const err = async (input: Record<string, string>, k = key) => (await p.gql(MERGE, { i: input }, k)).errors?.[0].extensions;
    expect(await err({ targetLeafId: a2a, sourceLeafId: a2a })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sourceLeafId' });
    expect(await err({ targetLeafId: u1, sourceLeafId: bIds[1] })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sourceLeafId' });
    expect(await err({ targetLeafId: bIds[1], sourceLeafId: u1 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sourceLeafId' });
    const elsewhere = await forked(['x', 'y']);
    expect(await err({ targetLeafId: a2a, sourceLeafId: elsewhere.bIds[1] })).toMatchObject({ code: 'NOT_FOUND' });
    const stranger = (await p.newUser()).apiKey;
    expect(await err({ targetLeafId: a2a, sourceLeafId: bIds[1] }, stranger)).toMatchObject({ code: 'NOT_FOUND' });
    expect(await err({ targetLeafId: a2a, sourceLeafId: 'nope' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sourceLeafId' });
  });
});
