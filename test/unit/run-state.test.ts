import { RunStatus } from '../../src/modules/runs/run.entity';
import { ACTIVE_STATUSES, canTransition, isTerminalStatus, sourcesOf } from '../../src/modules/runs/run-state';

describe('run state machine', () => {
  it('follows QUEUED → IN_PROGRESS → (REQUIRES_ACTION ⇄ IN_PROGRESS) → terminal', () => {
    expect(canTransition(RunStatus.QUEUED, RunStatus.IN_PROGRESS)).toBe(true);
    expect(canTransition(RunStatus.IN_PROGRESS, RunStatus.REQUIRES_ACTION)).toBe(true);
    expect(canTransition(RunStatus.REQUIRES_ACTION, RunStatus.QUEUED)).toBe(true);
    expect(canTransition(RunStatus.IN_PROGRESS, RunStatus.COMPLETED)).toBe(true);
    expect(canTransition(RunStatus.IN_PROGRESS, RunStatus.INCOMPLETE)).toBe(true);
    expect(canTransition(RunStatus.CANCELLING, RunStatus.CANCELLED)).toBe(true);
  });

  it('never leaves a terminal state and never skips the queue', () => {
    for (const s of [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.INCOMPLETE]) {
      expect(isTerminalStatus(s)).toBe(true);
      for (const t of Object.values(RunStatus)) expect(canTransition(s, t)).toBe(false);
    }
    expect(canTransition(RunStatus.QUEUED, RunStatus.COMPLETED)).toBe(false);
    expect(canTransition(RunStatus.REQUIRES_ACTION, RunStatus.IN_PROGRESS)).toBe(false);
  });

  it('derives the sources of a transition and the active set', () => {
    expect(sourcesOf(RunStatus.CANCELLED).sort()).toEqual([RunStatus.CANCELLING, RunStatus.QUEUED, RunStatus.REQUIRES_ACTION].sort());
    expect(ACTIVE_STATUSES.every((s) => !isTerminalStatus(s))).toBe(true);
  });
});
