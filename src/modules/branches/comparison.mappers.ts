import { toMessageType } from '../messages/message.mappers';
import { toRunObject } from '../runs/run.mappers';
import type { Comparison } from './comparison.service';
import type { ComparisonType } from './comparison.types';

export function toComparisonType(c: Comparison): ComparisonType {
  const entries = c.entries.map(({ run, message }) => {
    const runObject = toRunObject(run);
    return {
      model: run.model,
      run: runObject,
      message: message ? toMessageType(message) : null,
      status: run.status,
      promptTokens: run.promptTokens,
      completionTokens: run.completionTokens,
      costUsd: run.costUsd,
      timeToFirstTokenMs: runObject.timeToFirstTokenMs,
      durationMs: runObject.durationMs,
    };
  });
  return { id: c.id, parentId: c.parentId, runs: entries.map((e) => e.run), entries };
}
