/** A tool the client executes itself; the run pauses in REQUIRES_ACTION when the model calls it. */
export interface ClientToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** Execution options frozen on the run row when it is created, so a resumed run behaves the same. */
export interface RunOptions {
  temperature?: number;
  maxTokens?: number;
  maxSteps?: number;
  /** Server tools the model may call; defaults to the agent's tools. */
  tools?: string[];
  clientTools?: ClientToolSpec[];
  /** Execution deadline from the run's settings or its agent; absent: the server default. */
  timeoutMs?: number;
}

/** Bounds of a run's execution deadline, wherever it is set (run settings, agent, PARLEY_RUN_TIMEOUT_MS). */
export const RUN_TIMEOUT_MS = { min: 1_000, max: 86_400_000 } as const;

/** Whether a run or agent timeout is in range; callers turn `false` into BAD_USER_INPUT on their own field. */
export const isRunTimeout = (ms: number): boolean => Number.isInteger(ms) && ms >= RUN_TIMEOUT_MS.min && ms <= RUN_TIMEOUT_MS.max;

