import type { RunStatus, RunStepType } from '../generated/graphql.js';
import type { RunEvent, RunEventOf } from './events.js';

export type FoldedUsage = RunEventOf<'RunCompleted'>['usage'];
export type FoldedRunError = RunEventOf<'RunFailed'>['error'];
export type PendingToolCall = RunEventOf<'RequiresAction'>['toolCalls'][number];

export interface FoldedToolCall {
  id: string;
  name: string;
  /** The model-call step that requested it. */
  stepIndex: number;
  /** Position among the calls of that step. */
  index: number;
  /** JSON text of the arguments: grows while `status` is `streaming`, complete after. */
  arguments: string;
  /** What the tool answered (null until then, and for client tools, whose output you submit). */
  output: string | null;
  isError: boolean | null;
  status: 'streaming' | 'completed';
}

export interface FoldedStep {
  index: number;
  type: RunStepType | null;
  model: string | null;
  toolName: string | null;
  /** Answer text written in this step (model calls). */
  text: string;
  reasoning: string;
  usage: FoldedUsage | null;
  completed: boolean;
}

/** The message a run is writing, as far as its events tell. */
export interface FoldedMessage {
  runId: string | null;
  /** The run's status (null before the first status event). */
  status: RunStatus | null;
  /** Answer text of the whole run, in order (`steps[i].text` has it per step). */
  text: string;
  reasoning: string;
  /** Every tool call of the run, in the order they started. */
  toolCalls: FoldedToolCall[];
  /** Set while the run waits for client tool outputs (`runs.submitToolOutputs`). */
  requiredAction: { toolCalls: PendingToolCall[] } | null;
  steps: FoldedStep[];
  /** Messages the run stored (assistant and tool messages), in order. */
  messages: { messageId: string; role: string }[];
  /** The run's total once it completed; until then the sum of its finished steps. */
  usage: FoldedUsage | null;
  error: FoldedRunError | null;
  /** Seq of the last event folded in (0 before any). */
  lastSeq: number;
  /** True once the terminal event (RunCompleted, RunFailed, RunCancelled) is in. */
  done: boolean;
}

const emptyMessage = (): FoldedMessage => ({
  runId: null,
  status: null,
  text: '',
  reasoning: '',
  toolCalls: [],
  requiredAction: null,
  steps: [],
  messages: [],
  usage: null,
  error: null,
  lastSeq: 0,
  done: false,
});

function addUsage(a: FoldedUsage | null, b: FoldedUsage): FoldedUsage {
  if (!a) return { ...b };
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    cachedTokens: a.cachedTokens + b.cachedTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    costUsd: a.costUsd + b.costUsd,
  };
}

/**
 * Folds run events, one at a time, into the message being written: text,
 * reasoning, tool calls with their arguments and outputs, usage and status.
 * Pure and synchronous; an event whose `seq` was already folded in is ignored,
 * so replays after a reconnect are harmless.
 *
 *   const builder = new MessageBuilder();
 *   for await (const event of parley.runs.stream(runId)) render(builder.add(event).snapshot());
 */
export class MessageBuilder {
  private readonly m = emptyMessage();
  private readonly calls = new Map<string, FoldedToolCall>();

  add(event: RunEvent): this {
    const m = this.m;
    if (event.seq <= m.lastSeq) return this;
    m.lastSeq = event.seq;
    m.runId ??= event.runId;
    switch (event.__typename) {
      case 'RunStatusChanged':
        m.status = event.status;
        if (event.status !== 'REQUIRES_ACTION') m.requiredAction = null;
        break;
      case 'StepStarted':
        Object.assign(this.step(event.stepIndex), { type: event.stepType, model: event.model ?? null, toolName: event.toolName ?? null });
        break;
      case 'ReasoningDelta':
        m.reasoning += event.text;
        this.step(event.stepIndex).reasoning += event.text;
        break;
      case 'TokenDelta':
        m.text += event.text;
        this.step(event.stepIndex).text += event.text;
        break;
      case 'ToolCallStarted':
        this.call(event.toolCallId, event.name, event.stepIndex, event.index);
        break;
      case 'ToolCallArgumentsDelta':
        this.call(event.toolCallId, '', event.stepIndex).arguments += event.delta;
        break;
      case 'ToolCallCompleted': {
        const call = this.call(event.toolCallId, event.name, event.stepIndex);
        // The complete arguments as the server parsed them win over the streamed fragments.
        Object.assign(call, { name: event.name, arguments: event.arguments, output: event.output ?? null, isError: event.isError ?? null, status: 'completed' });
        break;
      }
      case 'StepCompleted': {
        const step = this.step(event.stepIndex);
        step.usage = { ...event.usage };
        step.completed = true;
        if (!m.done) m.usage = addUsage(m.usage, event.usage);
        break;
      }
      case 'MessageCompleted':
        m.messages.push({ messageId: event.messageId, role: event.role });
        break;
      case 'RequiresAction':
        m.requiredAction = { toolCalls: event.toolCalls.map((c) => ({ ...c })) };
        break;
      case 'RunCompleted':
        Object.assign(m, { status: event.status, usage: { ...event.usage }, requiredAction: null, done: true });
        break;
      case 'RunFailed':
        Object.assign(m, { status: 'FAILED', error: { ...event.error }, requiredAction: null, done: true });
        break;
      case 'RunCancelled':
        Object.assign(m, { status: 'CANCELLED', requiredAction: null, done: true });
        break;
      default:
        // An event type this SDK does not know yet (a newer server): its seq still counts.
        event satisfies never;
    }
    return this;
  }

  /** A copy of the message so far; later events do not change it. */
  snapshot(): FoldedMessage {
    const m = this.m;
    return {
      ...m,
      toolCalls: m.toolCalls.map((c) => ({ ...c })),
      requiredAction: m.requiredAction && { toolCalls: m.requiredAction.toolCalls.map((c) => ({ ...c })) },
      steps: m.steps.map((s) => ({ ...s, usage: s.usage && { ...s.usage } })),
      messages: m.messages.map((x) => ({ ...x })),
      usage: m.usage && { ...m.usage },
      error: m.error && { ...m.error },
    };
  }

  private step(index: number): FoldedStep {
    let step = this.m.steps.find((s) => s.index === index);
    if (!step) {
      step = { index, type: null, model: null, toolName: null, text: '', reasoning: '', usage: null, completed: false };
      this.m.steps.push(step);
      this.m.steps.sort((a, b) => a.index - b.index);
    }
    return step;
  }

  private call(id: string, name: string, stepIndex: number, index?: number): FoldedToolCall {
    let call = this.calls.get(id);
    if (!call) {
      const sameStep = this.m.toolCalls.filter((c) => c.stepIndex === stepIndex).length;
      call = { id, name, stepIndex, index: index ?? sameStep, arguments: '', output: null, isError: null, status: 'streaming' };
      this.calls.set(id, call);
      this.m.toolCalls.push(call);
    }
    return call;
  }
}

/** Folds a list of run events into the message they write (see {@link MessageBuilder}). */
export function foldRunEvents(events: Iterable<RunEvent>): FoldedMessage {
  const builder = new MessageBuilder();
  for (const event of events) builder.add(event);
  return builder.snapshot();
}
