import type { Logger } from '../../logger';
import type { RunEventLog } from '../../events/run-event-log';
import type { RunEventBody } from '../../events/run-event.types';
import type { RunSignals } from '../../queue/run-signals';
import type { ProviderRegistry, ResolvedModel } from '../providers/provider-registry';
import { ProviderError, maskSecrets, type ChatToolSpec, type CompletedToolCall, type ProviderUsage } from '../providers/provider.types';
import { costUsd } from '../models/model-catalog';
import type { ToolRegistry } from '../tools/tool-registry';
import { searchMessages } from '../tools/message-search';
import { buildModelContext } from '../context/context-builder';
import type { ContextSummarizer } from '../context/summarizer';
import { MessageRole, MessageStatus, type Message, type ToolCallPart } from '../messages/message.entity';
import { loadPath } from '../messages/message-tree.sql';
import type { JobProgress, RunJob } from '../../queue/run-queue';
import { Run, RunStatus } from './run.entity';
import { RunStepStatus, RunStepType } from './run-step.entity';
import type { RunStore } from './run-store';
import { StopRun, addUsage, classifyFailure, finishOrCancel, finishRun, pickUsage } from './run-outcome';
import type { RunOptions } from './run-options';
import type { RunHeartbeat } from './run-heartbeat';
import { ZERO_USAGE, type UsageColumns } from '../usage/usage.types';
import { observeModelCall, observeRunStarted, observeToolCall } from '../../observability/runs';

export interface RunExecutorDeps {
  store: RunStore;
  log: RunEventLog;
  signals: RunSignals;
  providers: ProviderRegistry;
  tools: ToolRegistry;
  logger: Logger;
  defaultMaxSteps: number;
  /** PARLEY_RUN_TIMEOUT_MS: the deadline of a run that sets none (nor its agent). */
  runTimeoutMs: number;
  /** PARLEY_REQUIRES_ACTION_TTL_S: how long a paused run waits for tool outputs (the reconciler expires it). */
  requiresActionTtlSeconds: number;
  /** Keeps the lease of the runs being executed; without it no lease is renewed (tests of the executor alone). */
  heartbeat?: RunHeartbeat;
  /** Writes SUMMARIZE/HYBRID summaries; without it those strategies fall back to the sliding window. */
  summarizer?: ContextSummarizer;
}

/** The state of one execution of a run, between two persisted steps. */
interface Execution {
  run: Run;
  model: ResolvedModel;
  options: RunOptions;
  tipId?: string;
  stepIndex: number;
  maxSteps: number;
  totals: UsageColumns & { timeToFirstTokenMs?: number };
  signal: AbortSignal;
  ownerId: string;
  /**
   * Appends not awaited yet. The log keeps a run's appends in call order and
   * sends those made while one is in flight together, as one batch, so deltas
   * never wait a round trip each; they are awaited before anything is written
   * to Postgres, and a failed batch fails each of its appends here.
   */
  pending: Promise<unknown>[];
  /** What the current model call was sent; written with its step. */
  contextPlan?: Record<string, unknown>;
  /** The branch path read while the run was claimed, for the first model call if it continues from that tip. */
  preloaded?: { tipId: string; path: Promise<Message[]> };
}

/**
 * Executes a run: model calls and tool calls as steps, every delta appended to
 * the run's event log as it arrives, each finished step persisted once.
 */
export class RunExecutor {
  constructor(private readonly deps: RunExecutorDeps) {}

  private emit(runId: string, body: RunEventBody): Promise<unknown> {
    return this.deps.log.append(runId, body);
  }

  /** Sends an append without waiting for it; `settle` awaits the lot before the step is persisted. */
  private track(exec: Execution, append: Promise<unknown>): void {
    append.catch(() => undefined); // observed later by settle(); never an unhandled rejection
    exec.pending.push(append);
  }

  private async settle(exec: Execution, failed: boolean): Promise<void> {
    const appended = exec.pending.splice(0);
    if (failed) await Promise.allSettled(appended);
    else await Promise.all(appended);
  }

  async execute(job: RunJob, progress?: JobProgress): Promise<void> {
    const abort = new AbortController();
    const offCancel = this.deps.signals.onCancel(job.runId, () => abort.abort());
    // The branch path is read while the run is claimed: one round trip on the way to the first token, not two.
    const preloaded = job.tipId ? { tipId: job.tipId, path: loadPath(this.deps.store.em(), job.tipId) } : undefined;
    preloaded?.path.catch(() => undefined); // an unused or failed preload is not an unhandled rejection
    let release = () => {};
    let deadline: NodeJS.Timeout | undefined;
    try {
      const run = await this.deps.store.claim(job.runId, this.deps.runTimeoutMs);
      void progress?.claimed();
      if (!run) return await this.notClaimed(job);
      observeRunStarted(this.deps.logger, run);
      // Ended by someone else (the reconciler after a lost lease): nothing here may write for it any more.
      release = this.deps.heartbeat?.hold(run.id, () => abort.abort()) ?? release;
      // The deadline aborts like a cancel, with a reason that classifyFailure turns into RUN_TIMEOUT.
      const remaining = run.deadlineAt ? new Date(run.deadlineAt).getTime() - Date.now() : this.deps.runTimeoutMs;
      deadline = setTimeout(() => abort.abort(runTimeout(run)), Math.max(0, remaining));
      await this.run(run, abort.signal, preloaded);
    } finally {
      clearTimeout(deadline);
      release();
      offCancel();
    }
  }

  /** A claimed (IN_PROGRESS) run, to its end or its next pause; every way out leaves it in a settled state. */
  private async run(run: Run, signal: AbortSignal, preloaded: Execution['preloaded']): Promise<void> {
    try {
      const pending: Promise<unknown>[] = [];
      const claimedEvent = this.emit(run.id, { type: 'RunStatusChanged', status: RunStatus.IN_PROGRESS, previousStatus: RunStatus.QUEUED });
      claimedEvent.catch(() => undefined);
      pending.push(claimedEvent);
      const exec: Execution = {
        run,
        model: this.deps.providers.resolve(run.model),
        options: (run.options ?? {}) as RunOptions,
        maxSteps: (run.options as RunOptions | undefined)?.maxSteps ?? this.deps.defaultMaxSteps,
        tipId: run.responseMessage?.id ?? run.inputMessage?.id,
        // A run that has written nothing yet has no steps: skip the count on the way to the first token.
        stepIndex: run.responseMessage ? await this.deps.store.stepCount(run.id) : 0,
        pending,
        totals: { ...ZERO_USAGE, ...pickUsage(run), timeToFirstTokenMs: run.timeToFirstTokenMs },
        signal,
        ownerId: run.owner.id,
        preloaded,
      };
      const outcome = await this.loop(exec);
      if (outcome === 'paused') return;
      // A cancel that lands after the last token still ends the run as CANCELLED, with its answer kept.
      await finishOrCancel(this.deps, run, outcome, [RunStatus.IN_PROGRESS], undefined, exec.totals);
    } catch (err) {
      const stop = classifyFailure(err, signal);
      if (stop.status === RunStatus.FAILED && !(err instanceof StopRun) && !(err instanceof ProviderError)) {
        this.deps.logger.error({ err, runId: run.id }, 'run failed unexpectedly');
      }
      if (stop.status === RunStatus.FAILED && err instanceof ProviderError) {
        // What the user is not told (the upstream's own words, secrets already masked) is here for the operator.
        this.deps.logger.warn({ runId: run.id, code: err.code, status: err.status, upstream: maskSecrets(err.message) }, 'run failed upstream');
      }
      // A cancel stored just before a limit stopped the run (MAX_TOKENS/MAX_STEPS) still ends it CANCELLED.
      await finishOrCancel(this.deps, run, stop.status, [RunStatus.IN_PROGRESS, RunStatus.CANCELLING], stop.error);
    }
  }

  /**
   * A job whose run could not be claimed. A run still IN_PROGRESS (or
   * CANCELLING) means the process executing it died and BullMQ handed its
   * stalled job on: it ends FAILED. Any other run has ended or is not ours,
   * and so is any run a standby copy finds claimed: its executor holds it.
   */
  private async notClaimed(job: RunJob): Promise<void> {
    if (job.standby) return;
    const run = await this.deps.store.load(job.runId);
    if (run?.status === RunStatus.IN_PROGRESS || run?.status === RunStatus.CANCELLING) {
      await finishRun(this.deps, run, RunStatus.FAILED, [run.status], {
        code: 'WORKER_LOST',
        message: 'The worker executing this run stopped before it finished; the unfinished step was discarded',
      });
    }
  }

  /** Runs steps until the model stops, a limit is hit, or client tools are needed. */
  private async loop(exec: Execution): Promise<RunStatus.COMPLETED | RunStatus.INCOMPLETE | 'paused'> {
    for (;;) {
      if (exec.stepIndex >= exec.maxSteps) throw this.maxStepsReached(exec);
      const { finish, toolCalls } = await this.modelStep(exec);
      if (finish === 'length') {
        throw new StopRun(RunStatus.INCOMPLETE, { code: 'MAX_TOKENS', message: 'The model hit its output token limit' });
      }
      if (finish === 'max_steps') throw this.maxStepsReached(exec);
      if (!toolCalls.length) return RunStatus.COMPLETED;
      const pending: ToolCallPart[] = [];
      for (const call of toolCalls) {
        if (this.isClientTool(exec, call)) pending.push(call);
        else await this.toolStep(exec, call);
      }
      if (pending.length) {
        await this.pause(exec, pending);
        return 'paused';
      }
    }
  }

  private async modelStep(exec: Execution): Promise<{ finish: string; toolCalls: CompletedToolCall[] }> {
    const { run, model } = exec;
    const index = exec.stepIndex++;
    const startedAt = new Date();
    this.track(exec, this.emit(run.id, { type: 'StepStarted', stepIndex: index, stepType: 'MODEL_CALL', model: run.model }));
    const tools = this.toolSpecs(exec);
    let text = '';
    let reasoning = '';
    let firstTokenAt: number | undefined;
    let usage: ProviderUsage | undefined;
    let finish = 'stop';
    let toolCalls: CompletedToolCall[] = [];
    try {
      // Inside the try: a context that cannot be built is recorded as a failed step.
      const preloaded = exec.preloaded?.tipId === exec.tipId ? exec.preloaded : undefined;
      exec.preloaded = undefined;
      const { messages, plan } = await buildModelContext(this.deps.store.em(), {
        conversation: run.conversation,
        tipId: exec.tipId,
        path: preloaded && (await preloaded.path),
        modelInfo: model.info,
        systemPrompt: run.agent?.instructions ?? run.conversation.settings.systemPrompt,
        strategy: run.conversation.settings.contextStrategy,
        summarizer: this.deps.summarizer,
        maxOutputTokens: exec.options.maxTokens,
        tools,
        signal: exec.signal,
      });
      // Saved with the step (one transaction), not now: nothing extra on the way to the first token.
      exec.contextPlan = plan as unknown as Record<string, unknown>;
      const stream = model.provider.stream({
        model: model.upstreamModel,
        messages,
        tools: tools.length ? tools : undefined,
        temperature: exec.options.temperature,
        maxTokens: exec.options.maxTokens,
        signal: exec.signal,
      });
      for await (const ev of stream) {
        if (ev.type !== 'finish' && firstTokenAt === undefined) firstTokenAt = Date.now();
        switch (ev.type) {
          case 'text':
            text += ev.text;
            this.track(exec, this.emit(run.id, { type: 'TokenDelta', stepIndex: index, text: ev.text }));
            break;
          case 'reasoning':
            reasoning += ev.text;
            this.track(exec, this.emit(run.id, { type: 'ReasoningDelta', stepIndex: index, text: ev.text }));
            break;
          case 'tool_call_started':
            this.track(exec, this.emit(run.id, { type: 'ToolCallStarted', stepIndex: index, toolCallId: ev.id, name: ev.name, index: ev.index }));
            break;
          case 'tool_call_delta':
            this.track(exec, this.emit(run.id, { type: 'ToolCallArgumentsDelta', stepIndex: index, toolCallId: ev.id, delta: ev.argumentsDelta }));
            break;
          case 'finish':
            finish = ev.reason;
            toolCalls = ev.toolCalls;
            usage = ev.usage;
            break;
        }
      }
      if (exec.signal.aborted) throw new ProviderError('CANCELLED', 'Run cancelled');
    } catch (err) {
      // The step is recorded FAILED or CANCELLED (closing its StepStarted) even when nothing came back;
      // whatever was streamed is kept as an INCOMPLETE message.
      const partial = text || reasoning ? { text, reasoning, toolCalls: [] } : undefined;
      await this.recordModelStep(exec, index, startedAt, firstTokenAt, partial, usage, MessageStatus.INCOMPLETE, err);
      throw err;
    }
    // An answer cut by the token limit is INCOMPLETE, and its tool calls (arguments cut mid-JSON) are never run, so not kept.
    // Nor are the calls of a turn that would run past the step limit: a turn's calls run all or none, since an
    // assistant message with unanswered tool calls could never be sent upstream again.
    if (finish !== 'length' && toolCalls.filter((c) => !this.isClientTool(exec, c)).length > exec.maxSteps - exec.stepIndex) finish = 'max_steps';
    const cut = finish === 'length' || finish === 'max_steps';
    const kept = { text, reasoning, toolCalls: cut ? [] : toolCalls };
    await this.recordModelStep(exec, index, startedAt, firstTokenAt, kept, usage, cut ? MessageStatus.INCOMPLETE : MessageStatus.COMPLETE);
    return { finish, toolCalls: cut ? [] : toolCalls };
  }

  private async recordModelStep(
    exec: Execution,
    index: number,
    startedAt: Date,
    firstTokenAt: number | undefined,
    out: { text: string; reasoning: string; toolCalls: CompletedToolCall[] } | undefined,
    usage: ProviderUsage | undefined,
    status: MessageStatus,
    err?: unknown,
  ): Promise<void> {
    const { run } = exec;
    await this.settle(exec, Boolean(err));
    const tokens = usage ?? { promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0 };
    const stepUsage: UsageColumns = { ...tokens, costUsd: costUsd(exec.model.info, tokens) };
    const completedAt = new Date();
    exec.totals = { ...addUsage(exec.totals, stepUsage), timeToFirstTokenMs: exec.totals.timeToFirstTokenMs };
    if (exec.totals.timeToFirstTokenMs == null && firstTokenAt !== undefined) {
      exec.totals.timeToFirstTokenMs = firstTokenAt - run.createdAt.getTime();
    }
    const { status: stepStatus, error: stepError } = err ? classifyFailure(err, exec.signal) : { status: undefined, error: undefined };
    observeModelCall({ run, model: exec.model, index, startedAt, completedAt, firstTokenAt, usage: stepUsage, error: err ? (stepError ?? { code: String(stepStatus) }) : undefined });
    const message = await this.deps.store.persistStep(
      run,
      exec.tipId,
      {
        index,
        type: RunStepType.MODEL_CALL,
        status: !err ? RunStepStatus.COMPLETED : stepStatus === RunStatus.CANCELLED ? RunStepStatus.CANCELLED : RunStepStatus.FAILED,
        model: run.model,
        usage: stepUsage,
        timeToFirstTokenMs: firstTokenAt === undefined ? undefined : firstTokenAt - startedAt.getTime(),
        error: stepError,
        startedAt,
        completedAt,
      },
      out && {
        role: MessageRole.ASSISTANT,
        content: out.text,
        reasoning: out.reasoning || undefined,
        toolCalls: out.toolCalls.length ? out.toolCalls : undefined,
        status,
        latencyMs: completedAt.getTime() - startedAt.getTime(),
      },
      { ...exec.totals, ...(exec.contextPlan ? { contextPlan: exec.contextPlan } : {}) },
    );
    exec.tipId = message?.id ?? exec.tipId;
    await this.emit(run.id, { type: 'StepCompleted', stepIndex: index, usage: stepUsage });
    if (message) await this.emit(run.id, { type: 'MessageCompleted', messageId: message.id, role: MessageRole.ASSISTANT });
  }

  private async toolStep(exec: Execution, call: CompletedToolCall): Promise<void> {
    const { run } = exec;
    const index = exec.stepIndex++;
    const startedAt = new Date();
    await this.emit(run.id, { type: 'StepStarted', stepIndex: index, stepType: 'TOOL_CALL', toolName: call.name });
    const allowed = this.serverToolNames(exec).includes(call.name);
    const result = allowed
      ? await this.deps.tools.execute(call.name, call.arguments, {
          viewerId: exec.ownerId,
          signal: exec.signal,
          searchMessages: (q, limit) => searchMessages(this.deps.store.em(), exec.ownerId, q, limit),
        })
      : { output: `Tool "${call.name}" is not available to this run`, isError: true, cached: false, durationMs: 0 };
    observeToolCall(run.id, index, call, startedAt, result);
    if (exec.signal.aborted) throw new ProviderError('CANCELLED', 'Run cancelled');
    await this.emit(run.id, {
      type: 'ToolCallCompleted',
      stepIndex: index,
      toolCallId: call.id,
      name: call.name,
      arguments: call.arguments,
      output: result.output,
      isError: result.isError,
    });
    const message = await this.deps.store.persistStep(
      run,
      exec.tipId,
      {
        index,
        type: RunStepType.TOOL_CALL,
        status: result.isError ? RunStepStatus.FAILED : RunStepStatus.COMPLETED,
        toolName: call.name,
        toolCallId: call.id,
        input: call.arguments,
        output: { output: result.output, isError: result.isError, cached: result.cached },
        usage: ZERO_USAGE,
        error: result.isError ? { code: 'TOOL_ERROR', message: result.output } : undefined,
        startedAt,
        completedAt: new Date(),
      },
      { role: MessageRole.TOOL, content: result.output, toolCallId: call.id, status: MessageStatus.COMPLETE, latencyMs: result.durationMs },
      exec.totals,
    );
    exec.tipId = message?.id ?? exec.tipId;
    await this.emit(run.id, { type: 'StepCompleted', stepIndex: index, usage: ZERO_USAGE });
    if (message) await this.emit(run.id, { type: 'MessageCompleted', messageId: message.id, role: MessageRole.TOOL });
  }

  private async pause(exec: Execution, pending: ToolCallPart[]): Promise<void> {
    const { run } = exec;
    for (const call of pending) {
      await this.emit(run.id, { type: 'ToolCallCompleted', stepIndex: exec.stepIndex - 1, toolCallId: call.id, name: call.name, arguments: call.arguments });
    }
    // The tool outputs are due by deadlineAt; past it the reconciler ends the run (REQUIRES_ACTION_EXPIRED).
    const deadlineAt = new Date(Date.now() + this.deps.requiresActionTtlSeconds * 1000);
    const moved = await this.deps.store.transition(run.id, [RunStatus.IN_PROGRESS], RunStatus.REQUIRES_ACTION, { pendingToolCalls: pending, deadlineAt });
    if (!moved) throw new StopRun(RunStatus.CANCELLED);
    await this.emit(run.id, { type: 'RequiresAction', toolCalls: pending });
    await this.emit(run.id, { type: 'RunStatusChanged', status: RunStatus.REQUIRES_ACTION, previousStatus: RunStatus.IN_PROGRESS });
  }

  private maxStepsReached(exec: Execution): StopRun {
    return new StopRun(RunStatus.INCOMPLETE, { code: 'MAX_STEPS', message: `Stopped after ${exec.stepIndex} of at most ${exec.maxSteps} steps` });
  }

  /** Client-side tools pause the run instead of becoming steps. */
  private isClientTool(exec: Execution, call: ToolCallPart): boolean {
    return (exec.options.clientTools ?? []).some((t) => t.name === call.name);
  }

  private serverToolNames(exec: Execution): string[] {
    return exec.options.tools ?? exec.run.agent?.tools ?? [];
  }

  private toolSpecs(exec: Execution): ChatToolSpec[] {
    const server = this.deps.tools.specs(this.serverToolNames(exec).filter((n) => this.deps.tools.get(n)));
    const client = (exec.options.clientTools ?? []).map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
    return [...server, ...client];
  }
}

/** Why a run's deadline aborted it: the signal's reason, classified FAILED (RUN_TIMEOUT) with its answer so far kept. */
function runTimeout(run: Run): StopRun {
  const ms = (run.options as RunOptions | undefined)?.timeoutMs;
  const limit = ms ? ` of ${ms} ms` : '';
  return new StopRun(RunStatus.FAILED, { code: 'RUN_TIMEOUT', message: `The run did not finish within its deadline${limit}` });
}
