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
 * counting (`ADMISSION_LOCK_SQL`, then `SLOT_COUNT_SQL` in a later statement,
 * which sees every start committed while it waited), so two starts of one
 * user count one after the other. The lock is FOR NO KEY UPDATE, which does
 * not wait for the key-share locks that every insert referencing the user
 * takes. Without a cap (PARLEY_GUARDRAILS=off) there is no lock, no count,
 * and no fair order either.
 */
export const isCapped = (maxActive: number): boolean => maxActive !== Number.POSITIVE_INFINITY;

/** Locks the user's row (one parameter: the user id). */
export const ADMISSION_LOCK_SQL = 'select 1 from users where id = ? for no key update';

/**
 * The user's runs holding or awaiting a slot (one parameter: the user id),
 * served by the partial index runs_owner_slot (Migration20261204155518).
 */
export const SLOT_COUNT_SQL = `select count(*)::int from runs where owner_id = ? and status = any('${SLOT_STATUSES_SQL}'::run_status[])`;

/** The admission of a start that found `active` of the user's runs holding or awaiting a slot; past the cap it is refused. */
export function admission(active: number, maxActive: number): Admission {
  if (!isCapped(maxActive)) return { priority: 1 };
  if (active >= maxActive) {
    throw new AppError(
      ErrorCode.RATE_LIMITED,
      `At most ${maxActive} active runs per user: ${active} of yours are queued or in progress. Start this one when one of them ends.`,
      { limit: 'activeRunsPerUser', maxActiveRuns: maxActive, activeRuns: active },
    );
  }
  return { priority: Math.min(active + 1, MAX_PRIORITY) };
}

/** The admission check as statements of `em`'s transaction, for a start that is not one statement (a resume). */
export async function admitRun(em: EntityManager, userId: string, maxActive: number): Promise<Admission> {
  if (!isCapped(maxActive)) return admission(0, maxActive);
  const trx = em.getTransactionContext();
  const connection = em.getConnection();
  await connection.execute(ADMISSION_LOCK_SQL, [userId], 'all', trx);
  const [row] = await connection.execute<{ count: number }[]>(SLOT_COUNT_SQL, [userId], 'all', trx);
  return admission(row?.count ?? 0, maxActive);
}
