import type { RunEventFieldsFragment } from '../generated/graphql.js';

/**
 * One event of a run, as `parley.runs.stream()` yields it: a union on
 * `__typename` with every field of every event type.
 */
export type RunEvent = RunEventFieldsFragment;

export type RunEventType = RunEvent['__typename'];

/** The event of one type, e.g. `RunEventOf<'TokenDelta'>`. */
export type RunEventOf<T extends RunEventType> = Extract<RunEvent, { __typename: T }>;

/** The last event of every run: nothing follows it. */
export type TerminalRunEvent = RunEventOf<'RunCompleted' | 'RunFailed' | 'RunCancelled'>;

export const TERMINAL_EVENT_TYPES: readonly TerminalRunEvent['__typename'][] = ['RunCompleted', 'RunFailed', 'RunCancelled'];

export function isTerminalEvent(event: RunEvent): event is TerminalRunEvent {
  return (TERMINAL_EVENT_TYPES as readonly string[]).includes(event.__typename);
}
