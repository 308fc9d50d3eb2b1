import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ZERO_USAGE, type UsageColumns } from './usage.types';
import { agentUsage, branchUsage, ownerUsage, type BranchUsage } from './usage.sql';

/** Usage rollups, one SQL aggregate per batch whatever the number of parents. */
export function createUsageLoaders(em: EntityManager) {
  /** Keyed by leaf id; null when the leaf does not exist. */
  const usageByBranch = new DataLoader<string, BranchUsage | null>(async (leafIds) => {
    const map = await branchUsage(em, leafIds);
    return leafIds.map((id) => map.get(id) ?? null);
  });

  const usageByAgent = new DataLoader<string, UsageColumns>(async (ids) => {
    const map = await agentUsage(em, ids);
    return ids.map((id) => map.get(id) ?? ZERO_USAGE);
  });

  const usageByOwner = new DataLoader<string, UsageColumns>(async (ids) => {
    const map = await ownerUsage(em, ids);
    return ids.map((id) => map.get(id) ?? ZERO_USAGE);
  });

  return { usageByBranch, usageByAgent, usageByOwner };
}
