import { isRunEnded, type RunEventLog } from '../../events/run-event-log';
import type { RunSignals } from '../../queue/run-signals';
import { ContextBudgetError } from '../context/context.errors';
import { ProviderError } from '../providers/provider.types';
import { MAX_TOKEN_COUNT, ZERO_USAGE, type UsageColumns } from '../usage/usage.types';
import { RunStatus, type Run, type RunErrorPart } from './run.entity';
import type { RunStore } from './run-store';
import { observeRunEnded, type RunEndObserver } from '../../observability/runs';

// How a run ends: the reasons it stops early, how failures are classified, and the one terminal transition.

/** Why a run stops early; each maps to a final status. */
export class StopRun extends Error {
  constructor(
    readonly status: RunStatus.FAILED | RunStatus.INCOMPLETE | RunStatus.CANCELLED,
    readonly error?: RunErrorPart,
  ) {
    super(error?.message ?? status);
  }
}

/** A sum of clamped steps is clamped again rather than overflowing the run's row. */
const sum = (a: number, b: number) => Math.min(a + b, MAX_TOKEN_COUNT);

export const addUsage = (a: UsageColumns, b: UsageColumns): UsageColumns => ({
  promptTokens: sum(a.promptTokens, b.promptTokens),
  completionTokens: sum(a.completionTokens, b.completionTokens),
  reasoningTokens: sum(a.reasoningTokens, b.reasoningTokens),
  cachedTokens: sum(a.cachedTokens, b.cachedTokens),
  costUsd: a.costUsd + b.costUsd,
});

export function pickUsage(u: UsageColumns): UsageColumns {
  return {
    promptTokens: u.promptTokens,
    completionTokens: u.completionTokens,
    reasoningTokens: u.reasoningTokens,
    cachedTokens: u.cachedTokens,
    costUsd: u.costUsd,
  };
}

type Outcome = { status: RunStatus.FAILED | RunStatus.INCOMPLETE | RunStatus.CANCELLED; error?: RunErrorPart };

/** The final status and error for whatever ended an execution. */
export function classifyFailure(err: unknown, signal: AbortSignal): Outcome {
  if (err instanceof StopRun) return { status: err.status, error: err.error };
  // A signal aborted with a reason (the run's deadline) says why; a plain abort is a cancel.
  if (signal.aborted && signal.reason instanceof StopRun) return { status: signal.reason.status, error: signal.reason.error };
  if (err instanceof ContextBudgetError) return { status: RunStatus.FAILED, error: { code: 'CONTEXT_TOO_LARGE', message: err.message } };
  if (signal.aborted || (err instanceof ProviderError && err.code === 'CANCELLED')) return { status: RunStatus.CANCELLED };
  // Users read the sanitized message (status and type); the upstream's text stays in the log (run-executor).
  if (err instanceof ProviderError) return { status: RunStatus.FAILED, error: { code: err.code, message: err.userMessage } };
  return { status: RunStatus.FAILED, error: { code: 'INTERNAL_ERROR', message: 'The run failed because of an internal error' } };
}

/** Moves the run to its final state and appends the terminal event (exactly once: the conditional update decides). */
export async function finishRun(
  deps: { store: RunStore; log: RunEventLog } & RunEndObserver,
  run: Run,
  status: RunStatus,
  from: RunStatus[],
  error?: RunErrorPart,
  totals?: UsageColumns,
): Promise<boolean> {
  // One conditional update per source state, in state-machine order (a run only moves forward, so
  // none is skipped), tells which state the run left: RunStatusChanged reports it.
  let previousStatus: RunStatus | undefined;
  for (const source of from) {
    const data = { completedAt: new Date(), ...(error ? { error } : {}) };
    if (await deps.store.transition(run.id, [source], status, data)) {
      previousStatus = source;
      break;
    }
  }
  if (!previousStatus) return false;
  observeRunEnded(deps, run, status, previousStatus, error);
  if (status === RunStatus.CANCELLED) {
    await appendCancelled(deps.log, run.id, previousStatus);
    return true;
  }
  await deps.log.append(run.id, { type: 'RunStatusChanged', status, previousStatus });
  if (status === RunStatus.COMPLETED || status === RunStatus.INCOMPLETE) {
    const fresh = totals ?? (await deps.store.load(run.id)) ?? run;
    const usage = { ...ZERO_USAGE, ...pickUsage(fresh) };
    await deps.log.append(run.id, { type: 'RunCompleted', status, usage });
  } else {
    await deps.log.append(run.id, { type: 'RunFailed', error: error ?? { code: 'FAILED', message: 'Run failed' } });
  }
  return true;
}

/** The two events that end a cancelled run, whoever cancelled it. */
export async function appendCancelled(log: RunEventLog, runId: string, previousStatus: RunStatus): Promise<void> {
  await log.append(runId, { type: 'RunStatusChanged', status: RunStatus.CANCELLED, previousStatus });
  await log.append(runId, { type: 'RunCancelled' });
}

/**
 * Ends a run the executor was running with `status`, from one of `from`. A
 * run that was meanwhile moved to CANCELLING (its signal not here yet) can
 * only become CANCELLED or FAILED and must not be left behind: the cancel wins.
 */
export async function finishOrCancel(...args: Parameters<typeof finishRun>): Promise<boolean> {
  const [deps, run] = args;
  return (await finishRun(...args)) || finishRun(deps, run, RunStatus.CANCELLED, [RunStatus.CANCELLING]);
}

/**
 * Runs deleted with their conversation while still active: the row is gone,
 * so no worker can finish them. Their subscribers get RunCancelled (unless
 * the run ended on its own meanwhile) and a worker executing one is told to
 * stop, so its upstream request is not paid for to the end.
 */
export async function endRemovedRuns(deps: { log: RunEventLog; signals: RunSignals }, runs: { id: string; status: RunStatus }[]): Promise<unknown[]> {
  // The deletion has committed: a run that cannot be ended (Redis down) is reported, not thrown.
  const settled = await Promise.allSettled(
    runs.map(async ({ id, status }) => {
      try {
        await appendCancelled(deps.log, id, status);
      } catch (err) {
        if (!isRunEnded(err)) throw err;
      }
      await deps.signals.requestCancel(id);
    }),
  );
  return settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []));
}
