import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Context, Viewer } from '../../server/context';
import { AppError, ErrorCode, badInput, conflict, notFound } from '../../server/errors';
import { LIMITS, optionalId, requireId, requireListSize, optionalText, requireJsonSize, requireTemperature, requireText } from '../../server/validate';
import { isRunEnded, type RunEventLog } from '../../events/run-event-log';
import type { RunQueue } from '../../queue/run-queue';
import type { RunSignals } from '../../queue/run-signals';
import type { ProviderRegistry } from '../providers/provider-registry';
import type { ToolRegistry } from '../tools/tool-registry';
import type { AgentService } from '../agents/agent.service';
import type { ConversationService } from '../conversations/conversation.service';
import { Conversation } from '../conversations/conversation.entity';
import type { MessageService } from '../messages/message.service';
import { Message, MessageRole } from '../messages/message.entity';
import { newMessageRow, type NewMessageRow } from '../messages/message-insert';
import { User } from '../users/user.entity';
import { Run, RunStatus } from './run.entity';
import { ACTIVE_STATUSES, ACTIVE_STATUSES_SQL } from './run-state';
import { appendCancelled, finishRun } from './run-outcome';
import { isUniqueViolation } from '../../db/sql';
import type { RunService } from './run.service';
import { RUN_TIMEOUT_MS, isRunTimeout, type RunOptions } from './run-options';
import type { RunSettingsInput, SendMessageInput, StartRunInput, SubmitToolOutputsInput } from './run.inputs';
import type { RunStore } from './run-store';
import { admission, admitRun } from './run-admission';
import { startRunStatement, type RunStartOutcome, type RunTip } from './run-start.sql';

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** Bounds of a client tool's parameter schema: generous for real schemas, far from what breaks serialization. */
const CLIENT_TOOL_SCHEMA = { depth: 32, chars: 20_000 };

export interface RunCommandDeps {
  conversations: ConversationService;
  messages: MessageService;
  agents: AgentService;
  runs: RunService;
  log: RunEventLog;
  queue: RunQueue;
  signals: RunSignals;
  providers: ProviderRegistry;
  tools: ToolRegistry;
  defaultModel: string;
  store: RunStore;
  /** PARLEY_MAX_ACTIVE_RUNS_PER_USER */
  maxActiveRunsPerUser: number;
}

/** What a run start asks for, as the request gave it. */
interface StartRequest {
  conversationId: string;
  tip: RunTip;
  /** A send: the user message the run answers, added under the tip. */
  message?: NewMessageRow;
  agentId?: string | null;
  model?: string | null;
  settings?: RunSettingsInput | null;
  run?: { branchKey?: string; comparisonId?: string };
}

/**
 * Starting, cancelling and resuming runs. A run row is written (QUEUED) in the
 * same transaction as its input; only after commit is it queued.
 */
export class RunCommandService {
  constructor(private readonly deps: RunCommandDeps) {}

  /**
   * A send onto the active leaf reads the conversation under its row lock, so
   * concurrent sends queue there and each sees the one before it: without it,
   * concurrent sends on one leaf all passed the branch check (their runs'
   * branch keys are their own new messages, which the unique index cannot
   * catch) and all started runs. A send that names its parent does not wait.
   */
  async sendMessage(ctx: Context, viewer: Viewer, input: SendMessageInput, opts: { asRoot?: boolean } = {}): Promise<{ message: Message; run: Run }> {
    const content = requireText(input.content, 'content', LIMITS.content);
    const explicitParentId = optionalId(input.parentId, 'parentId');
    const conversationId = requireId(input.conversationId, 'conversationId');
    const tip: RunTip = opts.asRoot ? 'root' : explicitParentId ? { messageId: explicitParentId } : 'activeLeaf';
    const message = newMessageRow(ctx.em, conversationId, { role: MessageRole.USER, content });
    const started = await this.start(ctx, viewer, { conversationId, tip, message, agentId: input.agentId, model: input.model, settings: input.settings });
    const conversation = ctx.em.getReference(Conversation, conversationId);
    conversation.owner ??= ctx.em.getReference(User, started.conversationOwnerId);
    this.deps.conversations.publish(conversation, 'MESSAGE_ADDED', started.message!.id);
    // The message is kept if the run cannot be queued: the error names it, for startRun on it.
    await this.enqueue(ctx, started.run, this.queuedEvent(started.run), { tipId: started.message!.id, priority: started.priority }, { messageId: started.message!.id });
    return { message: started.message!, run: started.run };
  }

  async startRun(ctx: Context, viewer: Viewer, input: StartRunInput, opts: { branchKey?: string; comparisonId?: string } = {}): Promise<Run> {
    const explicitMessageId = optionalId(input.messageId, 'messageId');
    const conversationId = requireId(input.conversationId, 'conversationId');
    const tip: RunTip = explicitMessageId ? { messageId: explicitMessageId } : 'activeLeaf';
    const { run, priority } = await this.start(ctx, viewer, { conversationId, tip, agentId: input.agentId, model: input.model, settings: input.settings, run: opts });
    await this.enqueue(ctx, run, this.queuedEvent(run), { tipId: run.inputMessage?.id, priority });
    return run;
  }

  async cancelRun(ctx: Context, viewer: Viewer, runId: string): Promise<Run> {
    const run = await this.deps.runs.get(ctx, viewer, runId, 'runId');
    // A run can move between these conditional updates (a worker pauses it, a submit resumes it):
    // then they are tried again, so a cancel is never acknowledged without taking effect.
    let done = false;
    for (let attempt = 0; attempt < 5 && !done; attempt++) done = await this.cancelOnce(run.id);
    if (!done) throw conflict(`Run ${run.id} kept changing state while being cancelled; retry`, { retryable: true });
    ctx.em.clear();
    return this.deps.runs.get(ctx, viewer, run.id);
  }

  /** One pass of cancelRun; false when the run moved under it and the pass must be repeated. */
  private async cancelOnce(runId: string): Promise<boolean> {
    const { store, log, signals } = this.deps;
    // Nobody is executing a queued or paused run: it is cancelled here and now.
    // A cancelled paused run awaits no tool outputs any more: its pending calls go with it.
    // The log refusing an append (RUN_ENDED) means the run's own end was written first: the cancel still took effect.
    const note = (append: Promise<unknown>) => append.catch((err: unknown) => {
      if (!isRunEnded(err)) throw err;
    });
    for (const from of [RunStatus.QUEUED, RunStatus.REQUIRES_ACTION]) {
      if (await store.transition(runId, [from], RunStatus.CANCELLED, { completedAt: new Date(), pendingToolCalls: [] })) {
        await note(appendCancelled(log, runId, from));
        return true;
      }
    }
    if (await store.transition(runId, [RunStatus.IN_PROGRESS], RunStatus.CANCELLING)) {
      await note(log.append(runId, { type: 'RunStatusChanged', status: RunStatus.CANCELLING, previousStatus: RunStatus.IN_PROGRESS }));
      await signals.requestCancel(runId);
      return true;
    }
    const now = await store.load(runId);
    if (!now) return true;
    if (now.status === RunStatus.CANCELLING) {
      await signals.requestCancel(runId);
      return true;
    }
    if (!ACTIVE_STATUSES.includes(now.status)) throw conflict(`Run ${runId} already ended (${now.status})`, { status: now.status });
    return false;
  }

  async submitToolOutputs(ctx: Context, viewer: Viewer, input: SubmitToolOutputsInput): Promise<Run> {
    const run = await this.deps.runs.get(ctx, viewer, input.runId, 'runId');
    if (run.status !== RunStatus.REQUIRES_ACTION) {
      throw conflict(`Run ${run.id} is ${run.status}, not waiting for tool outputs`, { status: run.status });
    }
    const pending = run.pendingToolCalls ?? [];
    requireListSize(input.toolOutputs, 'toolOutputs', LIMITS.toolCalls);
    const given = new Map(input.toolOutputs.map((o) => [o.toolCallId, o.output]));
    const missing = pending.filter((c) => !given.has(c.id)).map((c) => c.id);
    const unknown = [...given.keys()].filter((id) => !pending.some((c) => c.id === id));
    if (missing.length) throw badInput('toolOutputs', `missing outputs for ${missing.join(', ')}`, { missing });
    if (unknown.length) throw badInput('toolOutputs', `no pending call ${unknown.join(', ')}`, { unknown });
    if (given.size !== input.toolOutputs.length) throw badInput('toolOutputs', 'each call may be answered once');
    const { tipId, priority } = await this.inTransaction(ctx, async ({ em }) => {
      // SKIP LOCKED: of two concurrent submits, the one that finds the row taken gets CONFLICT at once.
      const locked = await em.findOne(Run, { id: run.id, status: RunStatus.REQUIRES_ACTION }, { lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE });
      if (!locked) throw conflict(`Run ${run.id} is no longer waiting for tool outputs`);
      let tip = run.responseMessage?.id ?? run.inputMessage?.id;
      for (const call of pending) {
        const output = requireText(given.get(call.id)!, 'toolOutputs.output', LIMITS.content, { allowEmpty: true });
        const m = await this.deps.messages.insert(em, run.conversation, tip, { role: MessageRole.TOOL, content: output, toolCallId: call.id }, 'follow');
        tip = m.id;
      }
      locked.responseMessage = em.getReference(Message, tip!);
      locked.pendingToolCalls = undefined;
      locked.status = RunStatus.QUEUED;
      await em.flush();
      // Paused runs hold no slot, so resuming one is a start as far as the cap goes.
      const { priority } = await admitRun(em, viewer.id, this.deps.maxActiveRunsPerUser);
      return { tipId: tip, priority };
    });
    const queued = this.deps.log.append(run.id, { type: 'RunStatusChanged', status: RunStatus.QUEUED, previousStatus: RunStatus.REQUIRES_ACTION });
    await this.enqueue(ctx, run, queued, { tipId, priority });
    ctx.em.clear();
    return this.deps.runs.get(ctx, viewer, run.id);
  }

  /**
   * Writes a QUEUED run (and a send's message) in one round trip
   * (run-start.sql.ts), then reports the first check that failed in the order
   * callers have always been told them: conversation, agent, model, settings,
   * the tip a start answers, the branch, the parent a send continues, the
   * active-run cap.
   */
  private async start(ctx: Context, viewer: Viewer, req: StartRequest): Promise<RunStartOutcome & { run: Run; priority: number }> {
    const agentId = optionalId(req.agentId, 'agentId');
    const model = req.model == null ? undefined : this.checkModel(req.model);
    const options = this.requestOptions(req.settings);
    let outcome: RunStartOutcome | null;
    try {
      outcome = await startRunStatement(ctx.em, {
        viewer,
        conversationId: req.conversationId,
        tip: req.tip,
        message: req.message,
        agentId,
        model,
        defaultModel: this.deps.defaultModel,
        providers: this.deps.providers.names(),
        options,
        // Server tools named by the request were checked against the client tools already; else the agent's are.
        clientToolNames: options.tools ? [] : (options.clientTools ?? []).map((t) => t.name),
        maxActiveRuns: this.deps.maxActiveRunsPerUser,
        run: req.run ?? {},
      });
    } catch (err) {
      // The partial unique index is the last word on "one active run per branch": a start that lost a
      // race with another on the same tip is told which run won, like one that lost the plain check.
      if (!isUniqueViolation(err, 'runs_one_active_per_branch')) throw err;
      const tipId = typeof req.tip === 'object' ? req.tip.messageId : undefined;
      const busy = tipId ? await this.activeRunOn(ctx.em.fork(), req.conversationId, tipId) : null;
      throw busy ? this.branchBusy(busy) : conflict('Another run is already active on this branch');
    }
    if (!outcome) throw notFound('Conversation', req.conversationId);
    if (outcome.agentWanted && !outcome.agentFound) throw notFound('Agent', outcome.agentWanted);
    if (!outcome.modelUsable) this.checkModel(outcome.model);
    if (outcome.clientToolClash) throw this.serverToolClash(options, outcome.agentTools);
    if (!req.message && !outcome.tipId) throw badInput('messageId', 'the conversation has no messages to answer');
    if (!req.message && !outcome.tipFound) throw notFound('Message', outcome.tipId!);
    if (outcome.busy) throw this.branchBusy(outcome.busy);
    if (outcome.tipId && !outcome.tipFound) throw notFound('Message', outcome.tipId);
    const { priority } = admission(outcome.activeRuns, this.deps.maxActiveRunsPerUser);
    if (!outcome.run) throw new Error(`The start of a run on conversation ${req.conversationId} wrote nothing`);
    return { ...outcome, run: outcome.run, priority };
  }

  /** The run's first event, which creates its log (its epoch): an append that later finds no log knows it was lost. */
  private queuedEvent(run: Run): Promise<unknown> {
    const queued = this.deps.log.append(run.id, { type: 'RunStatusChanged', status: RunStatus.QUEUED, previousStatus: null }, { create: true });
    queued.catch(() => undefined); // awaited by enqueue()
    return queued;
  }

  private async activeRunOn(em: EntityManager, conversationId: string, tipId: string): Promise<Pick<Run, 'id' | 'status'> | null> {
    const [busy] = await em.getConnection().execute<Pick<Run, 'id' | 'status'>[]>(
      `select id, status from runs
        where conversation_id = ? and status = any(?::run_status[]) and (branch_key = ? or response_message_id = ?)
        limit 1`,
      [conversationId, ACTIVE_STATUSES_SQL, tipId, tipId],
      'all',
      em.getTransactionContext(),
    );
    return busy ?? null;
  }

  private branchBusy(busy: Pick<Run, 'id' | 'status'>) {
    return conflict(`Run ${busy.id} is still ${busy.status} on this branch`, { activeRunId: busy.id });
  }

  /**
   * `fn` gets the request's context with the transaction's entity manager:
   * every read inside must go through it. A read through the request's own
   * manager would wait for a second pooled connection while this one is held,
   * and a burst of such requests deadlocked the pool (found by black-box
   * testing: 40 concurrent sends with an agent stalled the server for 60 s).
   */
  private async inTransaction<T>(ctx: Context, fn: (tx: Context) => Promise<T>): Promise<T> {
    // A plain transaction on a fork, not em.transactional(): the writes inside are statements
    // (insertMessage, locked reads) and one flush, so the flush that transactional() runs before
    // COMMIT would only compute change sets for everything loaded and find none.
    const em = ctx.em.fork();
    return em.getConnection().transactional(async (trx) => {
      em.setTransactionContext(trx);
      try {
        return await fn({ ...ctx, em });
      } finally {
        em.resetTransactionContext();
      }
    });
  }

  /**
   * Only a committed run whose QUEUED event is in the log becomes a job: its
   * worker's events come after it. A run committed but never queued (Redis
   * failed in between) would wait for a worker forever and hold its branch:
   * it ends FAILED (ENQUEUE_FAILED) here, and the request answers
   * SERVICE_UNAVAILABLE with the run's id (the cause is logged, not shown).
   */
  private async enqueue(ctx: Context, run: Run, queued: Promise<unknown>, job: { tipId?: string; priority: number }, details: Record<string, unknown> = {}): Promise<void> {
    try {
      await this.deps.queue.enqueue({ runId: run.id, ...job }, queued);
    } catch (err) {
      // Cancelled before its QUEUED event was written (a cancel racing a submit): it ended, nothing to undo.
      if (isRunEnded(err)) throw err;
      ctx.logger.error({ err, runId: run.id }, 'run could not be queued');
      const error = { code: 'ENQUEUE_FAILED', message: 'The run could not be queued for a worker' };
      const failed = await finishRun(this.deps, run, RunStatus.FAILED, [RunStatus.QUEUED], error).catch(() => false);
      const what = failed ? 'could not be queued and ended FAILED; its branch is free, start it again (startRun)' : 'could not be queued';
      throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, `Run ${run.id} ${what}`, { runId: run.id, ...details });
    }
  }

  /** A model the request names: known to a configured provider, else BAD_USER_INPUT. */
  private checkModel(model: string): string {
    requireText(model, 'model', LIMITS.model);
    try {
      this.deps.providers.resolve(model);
    } catch (err) {
      throw badInput('model', (err as Error).message);
    }
    return model;
  }

  /** The first client tool named like one of the agent's server tools (the start statement found one). */
  private serverToolClash(options: RunOptions, agentTools: readonly string[]): AppError {
    const clash = (options.clientTools ?? []).find((t) => agentTools.includes(t.name));
    return badInput('settings.clientTools.name', `"${clash?.name}" is also a server-side tool of this run; give the client tool another name`);
  }

  /**
   * The run's options as the request sets them. What it leaves out, the
   * start statement takes from the agent (temperature, timeout) or the worker
   * from its configuration, and the agent's server tools are checked against
   * the client tools there.
   */
  private requestOptions(settings: RunSettingsInput | undefined | null): RunOptions {
    const s = settings ?? {};
    const options: RunOptions = {};
    const temperature = requireTemperature(s.temperature, 'settings.temperature');
    if (temperature != null) options.temperature = temperature;
    if (s.maxTokens != null) {
      if (s.maxTokens < 1 || s.maxTokens > 200_000) throw badInput('settings.maxTokens', 'must be between 1 and 200000');
      options.maxTokens = s.maxTokens;
    }
    if (s.maxSteps != null) {
      if (s.maxSteps < 1 || s.maxSteps > 100) throw badInput('settings.maxSteps', 'must be between 1 and 100');
      options.maxSteps = s.maxSteps;
    }
    if (s.timeoutMs != null && !isRunTimeout(s.timeoutMs)) throw badInput('settings.timeoutMs', `must be between ${RUN_TIMEOUT_MS.min} and ${RUN_TIMEOUT_MS.max}`);
    // The run's own deadline, then its agent's; neither: the worker's PARLEY_RUN_TIMEOUT_MS.
    if (s.timeoutMs != null) options.timeoutMs = s.timeoutMs;
    requireListSize(s.tools, 'settings.tools', LIMITS.tools);
    requireListSize(s.clientTools, 'settings.clientTools', LIMITS.clientTools);
    if (s.tools) {
      const unknown = s.tools.filter((t) => !this.deps.tools.get(t));
      if (unknown.length) throw badInput('settings.tools', `unknown tools: ${unknown.join(', ')}`);
      options.tools = s.tools;
    }
    if (s.clientTools?.length) {
      const names = new Set<string>();
      const serverTools = options.tools ?? [];
      for (const t of s.clientTools) {
        if (!TOOL_NAME.test(t.name)) throw badInput('settings.clientTools.name', 'must be 1–64 letters, digits, _ or -');
        // The model must be able to tell which tool it calls: one definition per name.
        if (names.has(t.name)) throw badInput('settings.clientTools.name', `"${t.name}" is given twice`);
        if (serverTools.includes(t.name)) throw badInput('settings.clientTools.name', `"${t.name}" is also a server-side tool of this run; give the client tool another name`);
        names.add(t.name);
        optionalText(t.description, 'settings.clientTools.description', LIMITS.description);
        if (t.parameters.type !== 'object') throw badInput('settings.clientTools.parameters', 'must be a JSON Schema with type "object"');
        requireJsonSize(t.parameters, 'settings.clientTools.parameters', CLIENT_TOOL_SCHEMA.depth, CLIENT_TOOL_SCHEMA.chars);
      }
      options.clientTools = s.clientTools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
    }
    return options;
  }
}
