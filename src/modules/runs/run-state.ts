import { RunStatus } from './run.entity';

/**
 * The run state machine. Every status write goes through `canTransition`, and
 * the database update is conditional on the `from` state, so two writers can
 * never both move a run.
 */
const TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  [RunStatus.QUEUED]: [RunStatus.IN_PROGRESS, RunStatus.CANCELLED, RunStatus.FAILED],
  [RunStatus.IN_PROGRESS]: [
    RunStatus.REQUIRES_ACTION,
    RunStatus.CANCELLING,
    RunStatus.COMPLETED,
    RunStatus.INCOMPLETE,
    RunStatus.FAILED,
  ],
  [RunStatus.REQUIRES_ACTION]: [RunStatus.QUEUED, RunStatus.CANCELLED, RunStatus.FAILED],
  [RunStatus.CANCELLING]: [RunStatus.CANCELLED, RunStatus.FAILED],
  [RunStatus.CANCELLED]: [],
  [RunStatus.FAILED]: [],
  [RunStatus.COMPLETED]: [],
  [RunStatus.INCOMPLETE]: [],
};

export const ACTIVE_STATUSES: readonly RunStatus[] = [
  RunStatus.QUEUED,
  RunStatus.IN_PROGRESS,
  RunStatus.REQUIRES_ACTION,
  RunStatus.CANCELLING,
];

/** ACTIVE_STATUSES as a Postgres array literal, for `status = any(?::run_status[])`. */
export const ACTIVE_STATUSES_SQL = `{${ACTIVE_STATUSES.join(',')}}`;

export const isTerminalStatus = (s: RunStatus): boolean => TRANSITIONS[s].length === 0;

export const canTransition = (from: RunStatus, to: RunStatus): boolean => TRANSITIONS[from].includes(to);

/** The states from which `to` may be reached: the WHERE clause of a conditional update. */
export const sourcesOf = (to: RunStatus): RunStatus[] =>
  (Object.keys(TRANSITIONS) as RunStatus[]).filter((from) => TRANSITIONS[from].includes(to));
