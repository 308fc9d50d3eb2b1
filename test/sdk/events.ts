import type { RunEvent, RunEventOf, RunEventType } from '../../sdk';

const AT = '2025-01-01T00:00:00.000Z';
const USAGE = { promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0, costUsd: 0 };

type Fields<T extends RunEventType> = Omit<RunEventOf<T>, '__typename' | 'seq' | 'runId' | 'at'>;

/**
 * Builds a run's events with consecutive seqs from 1, as the server numbers
 * them: `events.add('TokenDelta', { stepIndex: 0, text: 'Hi' })`.
 */
export class EventScript {
  readonly events: RunEvent[] = [];

  constructor(readonly runId = 'run-1') {}

  add<T extends RunEventType>(type: T, fields: Fields<T>): this {
    this.events.push({ __typename: type, seq: this.events.length + 1, runId: this.runId, at: AT, ...fields } as RunEvent);
    return this;
  }

  /** A complete demo-like run: status, reasoning, answer text in `pieces`, step and message, RunCompleted. */
  static answer(pieces: string[], runId = 'run-1'): EventScript {
    const s = new EventScript(runId)
      .add('RunStatusChanged', { status: 'IN_PROGRESS', previousStatus: 'QUEUED' })
      .add('StepStarted', { stepIndex: 0, stepType: 'MODEL_CALL', model: 'demo/demo', toolName: null })
      .add('ReasoningDelta', { stepIndex: 0, text: 'Thinking …' });
    for (const text of pieces) s.add('TokenDelta', { stepIndex: 0, text });
    return s
      .add('StepCompleted', { stepIndex: 0, usage: { ...USAGE, promptTokens: 3, completionTokens: pieces.length, totalTokens: 3 + pieces.length } })
      .add('MessageCompleted', { messageId: 'msg-1', role: 'ASSISTANT' })
      .add('RunStatusChanged', { status: 'COMPLETED', previousStatus: 'IN_PROGRESS' })
      .add('RunCompleted', { status: 'COMPLETED', usage: { ...USAGE, promptTokens: 3, completionTokens: pieces.length, totalTokens: 3 + pieces.length } });
  }
}

export { USAGE };
