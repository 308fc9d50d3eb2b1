import type { ModelContextPlan } from './context-builder';
import type { ContextPlanType } from './context.types';

/**
 * A plan as stored in `runs.context_plan` (jsonb) or just built. Stored plans
 * outlive code changes, so missing fields read as empty rather than failing.
 */
export const toContextPlanType = (p: ModelContextPlan): ContextPlanType => ({
  strategy: p.strategy,
  model: p.model,
  contextWindow: p.contextWindow,
  reservedOutputTokens: p.reservedOutputTokens ?? 0,
  budgetTokens: p.budgetTokens,
  usedTokens: p.usedTokens,
  toolTokens: p.toolTokens ?? 0,
  items: (p.items ?? []).map((i) => ({ messageId: i.messageId ?? null, role: i.role, tokens: i.tokens, kind: i.kind })),
  dropped: (p.dropped ?? []).map((d) => ({ messageId: d.messageId, tokens: d.tokens, reason: d.reason })),
  summary: p.summary
    ? { content: p.summary.content, tokens: p.summary.tokens, messageCount: p.summary.messageCount, throughMessageId: p.summary.throughMessageId }
    : null,
  summaryError: p.summaryError ?? null,
});
