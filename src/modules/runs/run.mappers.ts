import type { Run } from './run.entity';
import type { RunStep } from './run-step.entity';
import type { RunObject, RunStepObject } from './run.types';
import { toUsage } from '../usage/usage.types';

const duration = (from?: Date | null, to?: Date | null): number | null =>
  from && to ? to.getTime() - from.getTime() : null;

export const toRunObject = (r: Run): RunObject => ({
  id: r.id,
  status: r.status,
  model: r.model,
  usage: toUsage(r),
  costUsd: r.costUsd,
  timeToFirstTokenMs: r.timeToFirstTokenMs ?? null,
  durationMs: duration(r.startedAt, r.completedAt),
  error: r.error ?? null,
  createdAt: r.createdAt,
  startedAt: r.startedAt ?? null,
  completedAt: r.completedAt ?? null,
  pendingToolCalls: r.pendingToolCalls ?? [],
  conversationId: r.conversation.id,
  agentId: r.agent?.id ?? null,
  inputMessageId: r.inputMessage?.id ?? null,
  responseMessageId: r.responseMessage?.id ?? null,
});

export const toRunStepObject = (s: RunStep): RunStepObject => ({
  id: s.id,
  index: s.index,
  type: s.type,
  status: s.status,
  model: s.model ?? null,
  toolName: s.toolName ?? null,
  toolCallId: s.toolCallId ?? null,
  usage: toUsage(s),
  timeToFirstTokenMs: s.timeToFirstTokenMs ?? null,
  durationMs: duration(s.startedAt, s.completedAt),
  error: s.error ?? null,
  startedAt: s.startedAt,
  completedAt: s.completedAt ?? null,
});
