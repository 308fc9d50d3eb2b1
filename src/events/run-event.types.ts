/**
 * Run events: what a worker appends to a run's log and what subscribers
 * receive. Every shape survives JSON unchanged (ISO date strings, no Date, no
 * undefined-vs-missing distinction that matters), because the Redis log stores
 * and publishes them as JSON and the memory log must behave the same.
 */

export type RunStatusName =
  | 'QUEUED'
  | 'IN_PROGRESS'
  | 'REQUIRES_ACTION'
  | 'CANCELLING'
  | 'CANCELLED'
  | 'FAILED'
  | 'COMPLETED'
  | 'INCOMPLETE';

export interface RunEventUsage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  costUsd: number;
}

export type RunEventBody =
  | { type: 'RunStatusChanged'; status: RunStatusName; previousStatus: RunStatusName | null }
  | { type: 'StepStarted'; stepIndex: number; stepType: 'MODEL_CALL' | 'TOOL_CALL'; model?: string; toolName?: string }
  | { type: 'ReasoningDelta'; stepIndex: number; text: string }
  | { type: 'TokenDelta'; stepIndex: number; text: string }
  | { type: 'ToolCallStarted'; stepIndex: number; toolCallId: string; name: string; index: number }
  | { type: 'ToolCallArgumentsDelta'; stepIndex: number; toolCallId: string; delta: string }
  | {
      type: 'ToolCallCompleted';
      stepIndex: number;
      toolCallId: string;
      name: string;
      arguments: string;
      output?: string;
      isError?: boolean;
    }
  | { type: 'StepCompleted'; stepIndex: number; usage?: RunEventUsage }
  | { type: 'MessageCompleted'; messageId: string; role: string }
  | { type: 'RequiresAction'; toolCalls: { id: string; name: string; arguments: string }[] }
  | { type: 'RunCompleted'; status: 'COMPLETED' | 'INCOMPLETE'; usage: RunEventUsage }
  | { type: 'RunFailed'; error: { code: string; message: string } }
  | { type: 'RunCancelled' };

export type RunEventType = RunEventBody['type'];

/**
 * Envelope added by the log: `seq` is gap-free per run, starting at 1.
 * `epoch` is internal (the GraphQL types do not expose it): it names the
 * incarnation of the run's log the event was stored in, so a reader can tell
 * a log that was lost and recreated from the one it has been reading (see
 * run-event-continuity.ts). Absent only on events stored before epochs existed.
 */
export type RunEvent = RunEventBody & { seq: number; runId: string; at: string; epoch?: string };

export interface AppendOptions {
  /**
   * This append creates the run's log (the run's first event, QUEUED with no
   * previous status). Any other append that finds no log knows the log was
   * lost, and starts a new one marked as such.
   */
  create?: boolean;
}

export const TERMINAL_EVENT_TYPES = ['RunCompleted', 'RunFailed', 'RunCancelled'] as const;

export type TerminalRunEventBody = Extract<RunEventBody, { type: (typeof TERMINAL_EVENT_TYPES)[number] }>;

/** A terminal event is the last one a run's log accepts; subscriptions complete after it. */
export function isTerminal(e: RunEventBody): e is TerminalRunEventBody {
  // Plain comparisons rather than an array lookup: this runs once per token per subscriber.
  return e.type === 'RunCompleted' || e.type === 'RunFailed' || e.type === 'RunCancelled';
}

let isoMs = 0;
let iso = '';

/** An event's `at`: `new Date().toISOString()`, made once per millisecond however many events share it. */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

/** A batch is appended as a whole, so only its last event may end the run: anything after a terminal event would be refused. */
export function checkBatch(bodies: readonly RunEventBody[]): void {
  for (let i = 0; i < bodies.length - 1; i++) {
    if (isTerminal(bodies[i])) throw new RangeError(`a batch of run events has ${bodies[i].type} before its last event`);
  }
}

export enum RunEventLogErrorCode {
  /** The run already has a terminal event; its log is closed for appends. */
  RUN_ENDED = 'RUN_ENDED',
  /** The log itself was closed (process shutting down). */
  LOG_CLOSED = 'LOG_CLOSED',
  /** A reader cannot prove its events continue: the log was lost, recreated or trimmed under it. */
  EVENTS_LOST = 'EVENTS_LOST',
}

/** The one error type of the events module; services map `code` to API errors. */
export class RunEventLogError extends Error {
  constructor(
    readonly code: RunEventLogErrorCode,
    message: string,
    readonly runId?: string,
    /** EVENTS_LOST: the last seq the reader could vouch for; everything after it must be refetched. */
    readonly lastSafeSeq?: number,
  ) {
    super(message);
    this.name = 'RunEventLogError';
  }
}

export const runEnded = (runId: string) =>
  new RunEventLogError(RunEventLogErrorCode.RUN_ENDED, `run ${runId} has ended; its event log accepts no more events`, runId);

/** True for the log's refusal to append after a terminal event: someone else ended the run first. */
export const isRunEnded = (err: unknown): boolean => err instanceof RunEventLogError && err.code === RunEventLogErrorCode.RUN_ENDED;

export const logClosed = () => new RunEventLogError(RunEventLogErrorCode.LOG_CLOSED, 'run event log is closed');

export const eventsLost = (runId: string, lastSafeSeq: number) =>
  new RunEventLogError(
    RunEventLogErrorCode.EVENTS_LOST,
    `The event log of run ${runId} lost events after seq ${lastSafeSeq}: query run(id) and its message for the rest`,
    runId,
    lastSafeSeq,
  );

export const isEventsLost = (err: unknown): err is RunEventLogError =>
  err instanceof RunEventLogError && err.code === RunEventLogErrorCode.EVENTS_LOST;
