import { MessageRole } from '../../src/modules/messages/message.entity';
import { ErrorCode } from '../../src/server/errors';
import { ContextBudgetError } from '../../src/modules/context/context.errors';
import {
  ContextItemKind,
  ContextStrategy,
  DropReason,
  MAX_SUMMARY_TOKENS,
  planContext,
  type ContextPlan,
  type PlanInput,
  type PlanMessage,
  type PlanSummary,
  type SummaryRequest,
} from '../../src/modules/context/context-planner';

const { USER, ASSISTANT, TOOL, SYSTEM } = MessageRole;
let seq = 0;
const msg = (role: MessageRole, tokens: number, extra: Partial<PlanMessage> = {}): PlanMessage => ({
  id: `m${++seq}`,
  role,
  content: '',
  pinned: false,
  excluded: false,
  tokens,
  ...extra,
});
const call = (id: string) => ({ id, name: 'calculator', arguments: '{}' });

/** Window 200, 50 reserved: budget 150, and 147 for items once the reply priming (3) is counted. */
const base = (path: PlanMessage[], extra: Partial<PlanInput> = {}): PlanInput => ({
  path,
  contextWindow: 200,
  reservedOutputTokens: 50,
  strategy: ContextStrategy.SLIDING_WINDOW,
  ...extra,
});
const plan = (input: PlanInput): ContextPlan => {
  const out = planContext(input);
  if (!out.plan) throw new Error(`expected a plan, got a summary request ${JSON.stringify(out.summarize)}`);
  return out.plan;
};
const request = (input: PlanInput): SummaryRequest => {
  const out = planContext(input);
  if (!out.summarize) throw new Error('expected a summary request');
  return out.summarize;
};
const sent = (p: ContextPlan) => p.items.map((i) => i.messageId ?? i.kind);
const dropped = (p: ContextPlan) => p.dropped.map((d) => [d.messageId, d.reason]);
const ids = (ms: PlanMessage[]) => ms.map((m) => m.id);
const thrown = (fn: () => unknown): ContextBudgetError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ContextBudgetError) return err;
    throw err;
  }
  throw new Error('did not throw');
};

describe('planContext: SLIDING_WINDOW', () => {
  it('sends everything that fits, system prompt first, and counts reply priming and tools', () => {
    const path = [msg(USER, 10), msg(ASSISTANT, 20), msg(USER, 30)];
    const p = plan(base(path, { systemPrompt: { tokens: 7 }, toolTokens: 5 }));
    expect(sent(p)).toEqual(['SYSTEM_PROMPT', ...ids(path)]);
    expect(p.items[0]).toEqual({ kind: ContextItemKind.SYSTEM_PROMPT, messageId: null, role: SYSTEM, tokens: 7 });
    expect(p).toMatchObject({ budgetTokens: 150, usedTokens: 7 + 60 + 5 + 3, toolTokens: 5, dropped: [], summary: null });
  });

  it('drops the oldest first and keeps the window contiguous', () => {
    // 147 for items: the newest three (40 + 60 + 40) fit, the 50 before them does not, and the 5 before that stays out too.
    const path = [msg(USER, 5), msg(ASSISTANT, 50), msg(USER, 40), msg(ASSISTANT, 60), msg(USER, 40)];
    const p = plan(base(path));
    expect(sent(p)).toEqual(ids(path.slice(2)));
    expect(dropped(p)).toEqual([
      [path[0].id, DropReason.WINDOW],
      [path[1].id, DropReason.WINDOW],
    ]);
    expect(p.usedTokens).toBe(143);
    expect(p.usedTokens).toBeLessThanOrEqual(p.budgetTokens);
  });

  it('never splits an assistant tool call from its TOOL results', () => {
    const q = msg(USER, 10);
    const a = msg(ASSISTANT, 30, { toolCalls: [call('c1'), call('c2')] });
    const t1 = msg(TOOL, 30, { toolCallId: 'c1' });
    const t2 = msg(TOOL, 30, { toolCallId: 'c2' });
    const last = msg(USER, 50);
    // The unit a+t1+t2 costs 90; with `last` (50) that is 140 ≤ 147, the question (10) then no longer fits.
    expect(sent(plan(base([q, a, t1, t2, last])))).toEqual(ids([a, t1, t2, last]));
    // One more token and the whole unit goes, never just its first half.
    const bigger = msg(USER, 58);
    const p = plan(base([q, a, t1, t2, bigger]));
    expect(sent(p)).toEqual([bigger.id]);
    expect(dropped(p).map(([, r]) => r)).toEqual(Array(4).fill(DropReason.WINDOW));
  });

  it('never sends excluded messages, and an excluded tool call takes its results with it', () => {
    const x = msg(USER, 5, { excluded: true });
    const a = msg(ASSISTANT, 5, { toolCalls: [call('c1')], excluded: true });
    const t = msg(TOOL, 5, { toolCallId: 'c1' });
    const a2 = msg(ASSISTANT, 5, { toolCalls: [call('c2'), call('c3')] });
    const t2 = msg(TOOL, 5, { toolCallId: 'c2', excluded: true });
    const t3 = msg(TOOL, 5, { toolCallId: 'c3' });
    const last = msg(USER, 5);
    const p = plan(base([x, a, t, a2, t2, t3, last]));
    expect(sent(p)).toEqual(ids([a2, t3, last]));
    expect(dropped(p)).toEqual([x, a, t, t2].map((m) => [m.id, DropReason.EXCLUDED]));
  });

  it("uses the branch's own root SYSTEM message in place of the system prompt", () => {
    const root = msg(SYSTEM, 12);
    const path = [root, msg(USER, 10)];
    const p = plan(base(path, { systemPrompt: { tokens: 99 } }));
    expect(p.items[0]).toEqual({ kind: ContextItemKind.SYSTEM_PROMPT, messageId: root.id, role: SYSTEM, tokens: 12 });
    expect(p.usedTokens).toBe(12 + 10 + 3);
    // Excluded, it is just a dropped message and the settings prompt applies again.
    root.excluded = true;
    const q = plan(base(path, { systemPrompt: { tokens: 9 } }));
    expect(sent(q)).toEqual(['SYSTEM_PROMPT', path[1].id]);
    expect(q.items[0].messageId).toBeNull();
    root.excluded = false;
  });

  it('ignores pins', () => {
    const pinned = msg(USER, 100, { pinned: true });
    const path = [pinned, msg(ASSISTANT, 60), msg(USER, 60)];
    expect(dropped(plan(base(path)))).toEqual([[pinned.id, DropReason.WINDOW]]);
  });

  it('throws BAD_USER_INPUT on systemPrompt when the system prompt alone does not fit', () => {
    const err = thrown(() => planContext(base([msg(USER, 1)], { systemPrompt: { tokens: 148 } })));
    expect(err).toMatchObject({ code: ErrorCode.BAD_USER_INPUT, details: { field: 'systemPrompt', reason: 'SYSTEM_PROMPT_TOO_LARGE', tokens: 148, budgetTokens: 150 } });
    expect(() => planContext(base([], { systemPrompt: { tokens: 147 } }))).not.toThrow();
  });

  it('throws on content when the latest turn cannot fit beside the system prompt', () => {
    const err = thrown(() => planContext(base([msg(USER, 5), msg(USER, 100)], { systemPrompt: { tokens: 48 } })));
    expect(err.details).toMatchObject({ field: 'content', reason: 'LATEST_MESSAGE_TOO_LARGE' });
  });

  it('throws on model when tools and reserved output leave no room', () => {
    expect(thrown(() => planContext(base([], { toolTokens: 147 }))).details).toMatchObject({ field: 'model', reason: 'NO_ROOM' });
  });

  it('plans an empty branch', () => {
    expect(plan(base([], { systemPrompt: { tokens: 4 } }))).toMatchObject({ usedTokens: 7, dropped: [] });
  });
});

describe('planContext: PINNED_FIRST', () => {
  const strategy = ContextStrategy.PINNED_FIRST;

  it('keeps pinned messages, then the newest that fit, in branch order', () => {
    const pinned = msg(USER, 40, { pinned: true });
    const old = msg(ASSISTANT, 30);
    const path = [pinned, old, msg(USER, 30), msg(ASSISTANT, 40), msg(USER, 30)];
    // 147 - 40 pinned = 107: the newest 30 + 40 + 30 = 100 fit, `old` does not.
    const p = plan(base(path, { strategy }));
    expect(sent(p)).toEqual(ids([pinned, ...path.slice(2)]));
    expect(dropped(p)).toEqual([[old.id, DropReason.WINDOW]]);
  });

  it('keeps a pinned tool result together with its call', () => {
    const a = msg(ASSISTANT, 30, { toolCalls: [call('c1')] });
    const t = msg(TOOL, 30, { toolCallId: 'c1', pinned: true });
    const path = [msg(USER, 50), a, t, msg(USER, 70), msg(USER, 20)];
    expect(sent(plan(base(path, { strategy })))).toEqual(ids([a, t, path[4]]));
  });

  it('throws on pinned when pins do not fit', () => {
    const path = [msg(USER, 80, { pinned: true }), msg(USER, 60, { pinned: true }), msg(USER, 10)];
    expect(thrown(() => planContext(base(path, { strategy }))).details).toMatchObject({ field: 'pinned', reason: 'PINNED_TOO_LARGE', tokens: 140 });
  });
});

describe('planContext: SUMMARIZE', () => {
  const strategy = ContextStrategy.SUMMARIZE;
  const long = () => [msg(USER, 40), msg(ASSISTANT, 40), msg(USER, 40), msg(ASSISTANT, 40), msg(USER, 40)];

  it('needs no summary when everything fits', () => {
    const path = [msg(USER, 40), msg(ASSISTANT, 40)];
    expect(plan(base(path, { strategy })).summary).toBeNull();
  });

  it('asks for one summary of the older turns, then plans with it', () => {
    const path = long();
    // 147 - 40 latest = 107 for the rest (160); the summary gets a third of 107 = 35, the window the remaining 72: one turn.
    const req = request(base(path, { strategy }));
    expect(req).toEqual({ throughMessageId: path[2].id, previous: null, messages: path.slice(0, 3), messageCount: 3, maxTokens: 35 });

    const summary: PlanSummary = { throughMessageId: req.throughMessageId, content: 'sum', tokens: 30, messageCount: 3 };
    const p = plan(base(path, { strategy, summary, allowNewSummary: false }));
    expect(sent(p)).toEqual(['SUMMARY', path[3].id, path[4].id]);
    expect(p.items[0]).toEqual({ kind: ContextItemKind.SUMMARY, messageId: null, role: SYSTEM, tokens: 30 });
    expect(dropped(p)).toEqual(path.slice(0, 3).map((m) => [m.id, DropReason.SUMMARIZED]));
    expect(p.summary).toBe(summary);
    expect(p.usedTokens).toBe(30 + 80 + 3);
  });

  it('reuses a stored summary while the turns after it fit', () => {
    const path = [...long(), msg(ASSISTANT, 20)];
    const summary: PlanSummary = { throughMessageId: path[2].id, content: 'sum', tokens: 30, messageCount: 3 };
    // After the summary: 40 + 40 + 20 = 100 ≤ 147 - 30.
    const p = plan(base(path, { strategy, summary }));
    expect(sent(p)).toEqual(['SUMMARY', ...ids(path.slice(3))]);
  });

  it('extends a stored summary with the turns that no longer fit', () => {
    const path = [...long(), msg(ASSISTANT, 40), msg(USER, 40)];
    const summary: PlanSummary = { throughMessageId: path[1].id, content: 'sum', tokens: 30, messageCount: 2 };
    const req = request(base(path, { strategy, summary }));
    expect(req.previous).toBe(summary);
    expect(req.messages).toEqual(path.slice(2, 5));
    expect(req).toMatchObject({ throughMessageId: path[4].id, messageCount: 5 });
  });

  it('leaves excluded messages out of the summary too', () => {
    const path = long();
    path[1].excluded = true;
    const req = request(base(path, { strategy }));
    expect(req.messages).toEqual([path[0], path[2]]);
    const summary = { throughMessageId: req.throughMessageId, content: 's', tokens: 20, messageCount: req.messageCount };
    const p = plan(base(path, { strategy, summary, allowNewSummary: false }));
    expect(p.dropped.find((d) => d.messageId === path[1].id)?.reason).toBe(DropReason.EXCLUDED);
  });

  it('falls back to the window when no summary may be written', () => {
    const path = long();
    const p = plan(base(path, { strategy, allowNewSummary: false }));
    expect(p.summary).toBeNull();
    expect(dropped(p).map(([, r]) => r)).toEqual([DropReason.WINDOW, DropReason.WINDOW]);
  });

  it('falls back to the window when the room for a summary would be too small to say anything', () => {
    const path = [msg(USER, 40), msg(USER, 40), msg(USER, 40)];
    const p = plan(base(path, { strategy, contextWindow: 120, reservedOutputTokens: 10 }));
    expect(p.summary).toBeNull();
    expect(dropped(p)).toEqual([[path[0].id, DropReason.WINDOW]]);
  });

  it('caps the summary at MAX_SUMMARY_TOKENS in big windows', () => {
    const path = Array.from({ length: 60 }, (_, i) => msg(i % 2 ? ASSISTANT : USER, 2_000));
    expect(request(base(path, { strategy, contextWindow: 100_000, reservedOutputTokens: 4_000 })).maxTokens).toBe(MAX_SUMMARY_TOKENS);
  });
});

describe('planContext: HYBRID', () => {
  it('keeps pins, summarizes the rest of the older part, and sends the recent window', () => {
    const pinned = msg(USER, 20, { pinned: true });
    const path = [msg(USER, 30), pinned, msg(ASSISTANT, 30), msg(USER, 40), msg(ASSISTANT, 40), msg(USER, 40)];
    const input = base(path, { strategy: ContextStrategy.HYBRID, contextWindow: 230 });
    const req = request(input);
    // 177 - 40 latest - 20 pinned = 117; summary reserve 39, window 78: one 40-token turn.
    // The summary covers the whole prefix, the pinned message too, so SUMMARIZE could reuse it as it is.
    expect(req.messages).toEqual(path.slice(0, 4));
    expect(req).toMatchObject({ throughMessageId: path[3].id, messageCount: 4 });
    expect(req.maxTokens).toBe(39);
    const p = plan({ ...input, summary: { throughMessageId: req.throughMessageId, content: 's', tokens: 25, messageCount: 4 }, allowNewSummary: false });
    expect(sent(p)).toEqual(['SUMMARY', pinned.id, path[4].id, path[5].id]);
    expect(dropped(p)).toEqual([path[0], path[2], path[3]].map((m) => [m.id, DropReason.SUMMARIZED]));
  });
});

describe('planContext invariants over random branches', () => {
  // mulberry32: a small seeded PRNG keeps failures reproducible.
  let state = 42;
  const rand = (n: number) => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };

  it('stays in budget, sends or drops every message exactly once, and keeps tool units and pins whole', () => {
    const seen = { planned: 0, summarized: 0, dropped: 0, refused: 0 };
    for (let round = 0; round < 1000; round++) {
      const path: PlanMessage[] = [];
      const length = 1 + rand(24);
      while (path.length < length) {
        const r = rand(10);
        const flags = { pinned: rand(6) === 0, excluded: rand(8) === 0 };
        if (r < 2 && path.length + 3 <= length) {
          path.push(msg(ASSISTANT, 1 + rand(30), { toolCalls: [call('a'), call('b')], ...flags }));
          path.push(msg(TOOL, 1 + rand(30), { toolCallId: 'a' }), msg(TOOL, 1 + rand(30), { toolCallId: 'b' }));
        } else path.push(msg(r < 6 ? USER : ASSISTANT, 1 + rand(60), flags));
      }
      const strategy = Object.values(ContextStrategy)[rand(4)];
      const input = base(path, { strategy, contextWindow: 150 + rand(200), systemPrompt: rand(2) ? { tokens: rand(20) } : null });
      let out;
      try {
        out = planContext(input);
        if (out.summarize) {
          seen.summarized++;
          const s = out.summarize;
          out = planContext({ ...input, summary: { throughMessageId: s.throughMessageId, content: 's', tokens: s.maxTokens, messageCount: s.messageCount }, allowNewSummary: false });
        }
      } catch (err) {
        expect(err).toBeInstanceOf(ContextBudgetError);
        seen.refused++;
        continue;
      }
      const p = out.plan!;
      seen.planned++;
      if (p.dropped.some((d) => d.reason !== DropReason.EXCLUDED)) seen.dropped++;
      expect(p.usedTokens).toBeLessThanOrEqual(p.budgetTokens);
      const sentIds = p.items.filter((i) => i.kind === ContextItemKind.MESSAGE).map((i) => i.messageId!);
      const all = [...sentIds, ...p.dropped.map((d) => d.messageId)].sort();
      expect(all).toEqual(ids(path).filter((id) => !p.items.some((i) => i.kind === ContextItemKind.SYSTEM_PROMPT && i.messageId === id)).sort());
      expect(sentIds).toEqual(ids(path).filter((id) => sentIds.includes(id)));
      for (const [i, m] of path.entries()) {
        if (m.excluded) expect(p.dropped.find((d) => d.messageId === m.id)?.reason).toBe(DropReason.EXCLUDED);
        if (m.role === TOOL && sentIds.includes(m.id)) {
          let head = i;
          while (path[head].role === TOOL) head--;
          expect(sentIds).toContain(path[head].id);
        }
        const pinsKept = strategy === ContextStrategy.PINNED_FIRST || strategy === ContextStrategy.HYBRID;
        if (pinsKept && m.pinned && !m.excluded && m.role !== TOOL) expect(sentIds).toContain(m.id);
      }
    }
    // The generator must exercise every path, not just the easy one.
    expect(seen.planned).toBeGreaterThan(600);
    expect(Math.min(seen.summarized, seen.dropped, seen.refused)).toBeGreaterThan(20);
  });
});
