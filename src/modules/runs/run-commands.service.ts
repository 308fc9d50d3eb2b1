import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Context, Viewer } from '../../server/context';
import { AppError, ErrorCode, badInput, conflict, notFound } from '../../server/errors';
import { LIMITS, optionalId, requireListSize, optionalText, requireJsonSize, requireTemperature, requireText } from '../../server/validate';
import { isRunEnded, type RunEventLog } from '../../events/run-event-log';
import type { RunQueue } from '../../queue/run-queue';
import type { RunSignals } from '../../queue/run-signals';
import type { ProviderRegistry } from '../providers/provider-registry';
import type { ToolRegistry } from '../tools/tool-registry';
import type { AgentService } from '../agents/agent.service';
import type { Agent } from '../agents/agent.entity';
import type { ConversationService } from '../conversations/conversation.service';
import type { Conversation } from '../conversations/conversation.entity';
import type { MessageService } from '../messages/message.service';
import { Message, MessageRole } from '../messages/message.entity';
import { Run, RunStatus } from './run.entity';
import { ACTIVE_STATUSES, ACTIVE_STATUSES_SQL } from './run-state';
import { appendCancelled, finishRun } from './run-outcome';
import { insertEntity, isUniqueViolation } from '../../db/sql';
import type { RunService } from './run.service';
import { RUN_TIMEOUT_MS, isRunTimeout, type RunOptions } from './run-options';
import type { RunSettingsInput, SendMessageInput, StartRunInput, SubmitToolOutputsInput } from './run.inputs';
import type { RunStore } from './run-store';
import { admitRun } from './run-admission';

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

/**
 * Starting, cancelling and resuming runs. A run row is written (QUEUED) in the
 * same transaction as its input; only after commit is it queued.
 */
export class RunCommandService {
  constructor(private readonly deps: RunCommandDeps) {}

  /**
   * A send onto the active leaf reads the conversation under its row lock, so
   * concurrent sends queue there and each sees the one before it: without it,
   * concurrent sends on one leaf all passed assertBranchIdle (their runs'
   * branch keys are their own new messages, which the unique index cannot
   * catch) and all started runs. A send that names its parent does not wait.
   */
  async sendMessage(ctx: Context, viewer: Viewer, input: SendMessageInput, opts: { asRoot?: boolean } = {}): Promise<{ message: Message; run: Run }> {
    const content = requireText(input.content, 'content', LIMITS.content);
    const explicitParentId = optionalId(input.parentId, 'parentId');
    const onActiveLeaf = !opts.asRoot && !explicitParentId;
    const { conversation, message, run, queued, priority } = await this.inTransaction(ctx, undefined, async (tx) => {
      const { em } = tx;
      const conversation = await this.conversation(tx, viewer, input.conversationId, onActiveLeaf);
      const agent = await this.agentFor(tx, viewer, conversation, input.agentId);
      const model = this.modelFor(input.model, agent, conversation);
      const options = this.options(input.settings, agent);
      const parentId = opts.asRoot ? undefined : (explicitParentId ?? conversation.activeLeaf?.id);
      if (parentId) await this.assertBranchIdle(em, conversation.id, parentId);
      const message = await this.deps.messages.insert(em, conversation, parentId, { role: MessageRole.USER, content }, 'move');
      return { conversation, message, ...(await this.createRun(em, viewer, conversation, message, agent, model, options)) };
    });
    this.deps.conversations.publish(conversation, 'MESSAGE_ADDED', message.id);
    // The message is kept if the run cannot be queued: the error names it, for startRun on it.
    await this.enqueue(ctx, run, queued, { tipId: run.inputMessage?.id, priority }, { messageId: message.id });
    return { message, run };
  }

  async startRun(ctx: Context, viewer: Viewer, input: StartRunInput, opts: { branchKey?: string; comparisonId?: string } = {}): Promise<Run> {
    const explicitMessageId = optionalId(input.messageId, 'messageId');
    const { run, queued, priority } = await this.inTransaction(ctx, { conversationId: input.conversationId, tipId: explicitMessageId }, async (tx) => {
      const { em } = tx;
      const conversation = await this.conversation(tx, viewer, input.conversationId, !explicitMessageId);
      const agent = await this.agentFor(tx, viewer, conversation, input.agentId);
      const model = this.modelFor(input.model, agent, conversation);
      const options = this.options(input.settings, agent);
      const messageId = explicitMessageId ?? conversation.activeLeaf?.id;
      if (!messageId) throw badInput('messageId', 'the conversation has no messages to answer');
      const message = await em.findOne(Message, { id: messageId, conversation: conversation.id });
      if (!message) throw notFound('Message', messageId);
      await this.assertBranchIdle(em, conversation.id, messageId);
      return this.createRun(em, viewer, conversation, message, agent, model, options, opts);
    });
    await this.enqueue(ctx, run, queued, { tipId: run.inputMessage?.id, priority });
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
    const { tipId, priority } = await this.inTransaction(ctx, undefined, async ({ em }) => {
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

  /** The conversation, row-locked in the transaction when the request continues its active leaf. */
  private conversation(tx: Context, viewer: Viewer, id: string, locked: boolean): Promise<Conversation> {
    return locked
      ? this.deps.conversations.getLocked(tx.em, viewer, id, 'conversationId')
      : this.deps.conversations.get(tx, viewer, id, 'conversationId');
  }

  /** Policy "reject": a branch whose tip is being answered takes no new message or run. */
  private async assertBranchIdle(em: EntityManager, conversationId: string, tipId: string): Promise<void> {
    const busy = await this.activeRunOn(em, conversationId, tipId);
    if (busy) throw this.branchBusy(busy);
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
   * Inserts a QUEUED run in `em`'s transaction and appends its first event
   * while that transaction commits (one round trip fewer before the worker
   * starts). If the commit fails, the run id was never given to anyone and its
   * lone event expires with the stale-run TTL.
   */
  private async createRun(em: EntityManager, viewer: Viewer, conversation: Conversation, input: Message, agent: Agent | undefined, model: string, options: RunOptions, extra: { branchKey?: string; comparisonId?: string } = {}): Promise<{ run: Run; queued: Promise<unknown>; priority: number }> {
    const { priority } = await admitRun(em, viewer.id, this.deps.maxActiveRunsPerUser);
    const run = await insertEntity(em, Run, {
      conversation,
      owner: em.getReference('User', viewer.id) as never,
      agent,
      model,
      branchKey: extra.branchKey ?? input.id,
      comparisonId: extra.comparisonId,
      inputMessage: input,
      options: options as Record<string, unknown>,
    });
    // The run's first event creates its log (its epoch); an append that finds no log later knows it was lost.
    const queued = this.deps.log.append(run.id, { type: 'RunStatusChanged', status: RunStatus.QUEUED, previousStatus: null }, { create: true });
    queued.catch(() => undefined); // awaited by enqueue() after a commit; ignored after a rollback
    return { run, queued, priority };
  }

  /**
   * The partial unique index is the last word on "one active run per branch":
   * a racing request that passed assertBranchIdle still ends here, and is told
   * which run won, like the one that lost the plain check.
   *
   * `fn` gets the request's context with the transaction's entity manager:
   * every read inside must go through it. A read through the request's own
   * manager would wait for a second pooled connection while this one is held,
   * and a burst of such requests deadlocked the pool (found by black-box
   * testing: 40 concurrent sends with an agent stalled the server for 60 s).
   */
  private async inTransaction<T>(
    ctx: Context,
    branch: { conversationId: string; tipId?: string } | undefined,
    fn: (tx: Context) => Promise<T>,
  ): Promise<T> {
    try {
      // A plain transaction on a fork, not em.transactional(): the writes inside are statements
      // (insertMessage, insertEntity, locked reads), so the flush that transactional() runs before
      // COMMIT would only compute change sets for everything loaded and find none.
      const em = ctx.em.fork();
      return await em.getConnection().transactional(async (trx) => {
        em.setTransactionContext(trx);
        try {
          return await fn({ ...ctx, em });
        } finally {
          em.resetTransactionContext();
        }
      });
    } catch (err) {
      if (isUniqueViolation(err, 'runs_one_active_per_branch')) {
        const busy = branch?.tipId ? await this.activeRunOn(ctx.em.fork(), branch.conversationId, branch.tipId) : null;
        throw busy ? this.branchBusy(busy) : conflict('Another run is already active on this branch');
      }
      throw err;
    }
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
      await queued;
      await this.deps.queue.enqueue({ runId: run.id, ...job });
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

  private async agentFor(ctx: Context, viewer: Viewer, conversation: Conversation, agentId?: string | null): Promise<Agent | undefined> {
    if (agentId) return this.deps.agents.get(ctx, viewer, agentId, 'agentId');
    return conversation.agent ? this.deps.agents.get(ctx, viewer, conversation.agent.id) : undefined;
  }

  private modelFor(requested: string | undefined | null, agent: Agent | undefined, conversation: Conversation): string {
    const model = requested ?? agent?.model ?? conversation.settings.model ?? this.deps.defaultModel;
    requireText(model, 'model', LIMITS.model);
    try {
      this.deps.providers.resolve(model);
    } catch (err) {
      throw badInput('model', (err as Error).message);
    }
    return model;
  }

  private options(settings: RunSettingsInput | undefined | null, agent: Agent | undefined): RunOptions {
    const s = settings ?? {};
    const options: RunOptions = {};
    const temperature = requireTemperature(s.temperature, 'settings.temperature') ?? agent?.temperature;
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
    const timeoutMs = s.timeoutMs ?? agent?.runTimeoutMs;
    if (timeoutMs != null) options.timeoutMs = timeoutMs;
    requireListSize(s.tools, 'settings.tools', LIMITS.tools);
    requireListSize(s.clientTools, 'settings.clientTools', LIMITS.clientTools);
    if (s.tools) {
      const unknown = s.tools.filter((t) => !this.deps.tools.get(t));
      if (unknown.length) throw badInput('settings.tools', `unknown tools: ${unknown.join(', ')}`);
      options.tools = s.tools;
    }
    if (s.clientTools?.length) {
      const names = new Set<string>();
      const serverTools = options.tools ?? agent?.tools ?? [];
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
