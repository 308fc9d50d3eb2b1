import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Run } from './run.entity';
import { RunStep } from './run-step.entity';

export function createRunLoaders(em: EntityManager) {
  const runById = new DataLoader<string, Run | null>(async (ids) => {
    const rows = await em.find(Run, { id: { $in: [...ids] } });
    const map = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => map.get(id) ?? null);
  });

  const stepsByRun = new DataLoader<string, RunStep[]>(async (ids) => {
    const rows = await em.find(RunStep, { run: { $in: [...ids] } }, { orderBy: { index: 'asc' } });
    return ids.map((id) => rows.filter((s) => s.run.id === id));
  });

  return { runById, stepsByRun };
}
