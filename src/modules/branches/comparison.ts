import { badInput } from '../../server/errors';
import { LIMITS, requireText } from '../../server/validate';

export const MIN_COMPARED_MODELS = 2;
export const MAX_COMPARED_MODELS = 5;

/** 2–5 distinct, non-empty model ids, in the order given. */
export function requireComparisonModels(models: readonly string[], field = 'models'): string[] {
  if (models.length < MIN_COMPARED_MODELS || models.length > MAX_COMPARED_MODELS) {
    throw badInput(field, `compare ${MIN_COMPARED_MODELS} to ${MAX_COMPARED_MODELS} models`, {
      min: MIN_COMPARED_MODELS,
      max: MAX_COMPARED_MODELS,
    });
  }
  const clean = models.map((m) => requireText(m.trim(), field, LIMITS.model));
  const seen = new Set<string>();
  for (const m of clean) {
    if (seen.has(m)) throw badInput(field, `"${m}" is listed twice`, { duplicate: m });
    seen.add(m);
  }
  return clean;
}

/**
 * The runs of a comparison answer the same message at the same time, so each
 * needs a branch key of its own for the one-active-run-per-branch index.
 * The position is part of the key, so ordering by key keeps the input order.
 */
export const comparisonBranchKey = (comparisonId: string, index: number): string => `cmp:${comparisonId}:${index}`;
