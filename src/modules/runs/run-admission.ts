import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, ErrorCode } from '../../server/errors';
import { RunStatus } from './run.entity';

/**
 * Statuses in which a run holds a worker slot or waits for one. A run paused
 * for client tool outputs (REQUIRES_ACTION) holds none: it does not count.
 */
export const SLOT_STATUSES: readonly RunStatus[] = [RunStatus.QUEUED, RunStatus.IN_PROGRESS, RunStatus.CANCELLING];
const SLOT_STATUSES_SQL = `{${SLOT_STATUSES.join(',')}}`;

/** BullMQ's highest priority number (lowest priority); ours never get near it. */
const MAX_PRIORITY = 2 ** 21 - 1;

export interface Admission {
  /**
   * The run's place in the fair queue: 1 + the user's runs already holding or
   * waiting for a slot. Workers take lower numbers first, FIFO among equals,
   * so every user's first run goes before anyone's second: round robin.
   */
  priority: number;
}

/**
 * The active-run cap per user (PARLEY_MAX_ACTIVE_RUNS_PER_USER), exact across
 * API nodes: the user's row is locked in the run-starting transaction before
 * counting, so two starts of one user count one after the other. The lock is
 * FOR NO KEY UPDATE, which does not wait for the key-share locks that every
 * insert referencing the user takes. Past the cap the start is refused.
 */
export async function admitRun(em: EntityManager, userId: string, maxActive: number): Promise<Admission> {
  // No cap (PARLEY_GUARDRAILS=off): no lock, no count, and no fair order either.
  if (maxActive === Number.POSITIVE_INFINITY) return { priority: 1 };
  const trx = em.getTransactionContext();
  const connection = em.getConnection();
  await connection.execute('select 1 from users where id = ? for no key update', [userId], 'all', trx);
  const active = await countSlotRuns(em, userId);
  if (active >= maxActive) {
    throw new AppError(
      ErrorCode.RATE_LIMITED,
      `At most ${maxActive} active runs per user: ${active} of yours are queued or in progress. Start this one when one of them ends.`,
      { limit: 'activeRunsPerUser', maxActiveRuns: maxActive, activeRuns: active },
    );
  }
  return { priority: Math.min(active + 1, MAX_PRIORITY) };
}

async function countSlotRuns(em: EntityManager, userId: string): Promise<number> {
  // Served by the partial index runs_owner_slot (Migration20261204155518): only active runs are in it.
  const [row] = await em
    .getConnection()
    .execute<{ n: number }[]>(
      'select count(*)::int as n from runs where owner_id = ? and status = any(?::run_status[])',
      [userId, SLOT_STATUSES_SQL],
      'all',
      em.getTransactionContext(),
    );
  return row?.n ?? 0;
}
