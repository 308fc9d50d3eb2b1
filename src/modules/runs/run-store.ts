import type { EntityManager } from '@mikro-orm/postgresql';
import { Agent } from '../agents/agent.entity';
import { Conversation } from '../conversations/conversation.entity';
import { insertMessage } from '../messages/message-insert';
import { Message, MessageRole, MessageStatus, type ToolCallPart } from '../messages/message.entity';
import { Run, RunStatus, type RunErrorPart } from './run.entity';
import { RunStep, RunStepStatus, RunStepType } from './run-step.entity';
import { canTransition } from './run-state';
import type { UsageColumns } from '../usage/usage.types';
import { withDbRetry, type DbRetryPolicy } from '../../db/retry';
import { prepared, preparedRows } from '../../db/sql';
import { observeRunTransition, observeStepWrite } from '../../observability/runs';

export interface StepRecord {
  index: number;
  type: RunStepType;
  status: RunStepStatus;
  model?: string;
  toolName?: string;
  toolCallId?: string;
  input?: unknown;
  output?: unknown;
  usage: UsageColumns;
  timeToFirstTokenMs?: number;
  error?: RunErrorPart;
  startedAt: Date;
  completedAt: Date;
}

/** A run the reconciler must end, and whether its deadline has passed (null: it has none). */
export interface ReconcileCandidate {
  id: string;
  status: RunStatus;
  pastDeadline: boolean | null;
}

export interface StepMessage {
  role: MessageRole;
  content: string;
  reasoning?: string;
  toolCalls?: ToolCallPart[];
  toolCallId?: string;
  status: MessageStatus;
  latencyMs?: number;
}

/** A QUEUED run to IN_PROGRESS, with its conversation and agent (see RunStore.claim): on every worker's way to a first token, so planned once. */
const CLAIM = prepared(
  'run_claim',
  `with claimed as (
     update runs set status = ?, started_at = coalesce(started_at, now()), updated_at = now(), heartbeat_at = now(),
            deadline_at = now() + coalesce((options->>'timeoutMs')::int, ?) * interval '1 millisecond'
      where id = ? and status = ?
     returning *)
   select claimed.*, to_jsonb(c) as claimed_conversation, to_jsonb(a) as claimed_agent
     from claimed join conversations c on c.id = claimed.conversation_id left join agents a on a.id = claimed.agent_id`,
);

/**
 * The run engine's only door to Postgres. Tokens never come here: a finished
 * step (its message, its step row and the run's running totals) is written
 * once, in one transaction.
 */
export class RunStore {
  /**
   * `root` is the ORM's global entity manager; every operation works on a fresh fork of it.
   * `retry`: how a worker's step and status writes ride out a Postgres restart (none for API requests,
   * which answer at once instead).
   */
  constructor(
    private readonly root: EntityManager,
    private readonly retry: Omit<DbRetryPolicy, 'budgetMs'> & { budgetMs: number } = { budgetMs: 0 },
  ) {}

  em(): EntityManager {
    return this.root.fork();
  }

  async load(runId: string): Promise<Run | null> {
    return this.retrying(() => this.em().findOne(Run, { id: runId }, { populate: ['conversation', 'agent'] }));
  }

  /**
   * QUEUED → IN_PROGRESS (a move run-state allows) and the run with its
   * conversation and agent, in one statement: the worker's whole way from a
   * job to a run it owns. Null when the run is not QUEUED (already taken,
   * cancelled, or its worker died). The claim starts the run's lease
   * (heartbeat_at) and its execution deadline: the run's own timeout, else
   * `defaultTimeoutMs`.
   */
  async claim(runId: string, defaultTimeoutMs: number): Promise<Run | null> {
    const em = this.em();
    const [row] = await preparedRows<Record<string, unknown>>(em, CLAIM, [RunStatus.IN_PROGRESS, defaultTimeoutMs, runId, RunStatus.QUEUED]);
    if (!row) return null;
    const { claimed_conversation: conversation, claimed_agent: agent, ...run } = row;
    // Mapped into one fork, the run's conversation and agent references resolve to these rows.
    em.map(Conversation, conversation as Record<string, unknown>);
    if (agent) em.map(Agent, agent as Record<string, unknown>);
    return em.map(Run, run);
  }

  async stepCount(runId: string): Promise<number> {
    return this.em().count(RunStep, { run: runId });
  }

  /**
   * Moves a run from one of `from` to `to` only if it is still there: the
   * UPDATE's WHERE clause is the lock, so concurrent writers cannot both win.
   */
  async transition(runId: string, from: readonly RunStatus[], to: RunStatus, data: Partial<Run> = {}): Promise<boolean> {
    const legal = from.filter((f) => canTransition(f, to));
    if (!legal.length) return false;
    return this.retrying(async (attempt) => {
      const moved = await this.em().nativeUpdate(Run, { id: runId, status: { $in: legal } }, { ...data, status: to, updatedAt: new Date() });
      if (moved > 0) observeRunTransition(legal, to);
      if (moved > 0 || attempt === 1) return moved > 0;
      // A retry that finds nothing to move: the attempt whose answer was lost with its connection may have moved it.
      const now = await this.em().findOne(Run, { id: runId }, { fields: ['status'] });
      return now?.status === to;
    });
  }

  /**
   * Renews the lease of the runs this worker executes, in one statement. The
   * answer is the runs it still holds: one missing was ended by someone else
   * (the reconciler, a deleted conversation) and its execution should stop.
   */
  async heartbeat(runIds: string[]): Promise<Set<string>> {
    if (!runIds.length) return new Set();
    const rows = await this.housekeeping<{ id: string }>(
      `update runs set heartbeat_at = now() where id = any(?::uuid[]) and status in (?, ?) returning id`,
      [`{${runIds.join(',')}}`, RunStatus.IN_PROGRESS, RunStatus.CANCELLING],
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Runs nobody will end on their own: executing (IN_PROGRESS or CANCELLING)
   * with a heartbeat older than `leaseMs` (their worker died, or gave up on a
   * write) or a deadline more than `leaseMs` past (their worker is stuck), and
   * REQUIRES_ACTION runs past their tool-output deadline (`ttlSeconds` after
   * they paused, for rows paused before deadlines were stored).
   *
   * A lease counts from the server's start at the earliest: while Postgres was
   * down no worker could renew one, and a worker retrying its writes through
   * the restart must get a full lease to come back before it counts as lost.
   */
  async findUnreconciled(leaseMs: number, ttlSeconds: number, limit: number): Promise<ReconcileCandidate[]> {
    return this.housekeeping<ReconcileCandidate>(
      `select id, status, deadline_at < now() as "pastDeadline"
         from runs
        where status in ('IN_PROGRESS', 'CANCELLING', 'REQUIRES_ACTION')
          and case when status = 'REQUIRES_ACTION'
                   then coalesce(deadline_at, updated_at + ? * interval '1 second') < now()
                   else greatest(coalesce(heartbeat_at, started_at, updated_at), pg_postmaster_start_time()) < now() - ? * interval '1 millisecond'
                     or deadline_at < now() - ? * interval '1 millisecond'
              end
        order by updated_at
        limit ?`,
      [ttlSeconds, leaseMs, leaseMs, limit],
    );
  }

  /**
   * Statements that run on timers (heartbeats, the reconciler's scan) go to
   * the driver directly, not through the ORM's query log: a request's SQL,
   * as tests count it, must not depend on when a timer fired.
   */
  private async housekeeping<T>(sql: string, params: unknown[]): Promise<T[]> {
    const result = await this.root.getConnection().getKnex().raw<{ rows: T[] }>(sql, params as never[]);
    return result.rows;
  }

  /** `fn` again while Postgres is briefly away, as long as this store's retry budget lasts. */
  private retrying<T>(fn: (attempt: number) => Promise<T>): Promise<T> {
    return this.retry.budgetMs > 0 ? withDbRetry(this.retry, fn) : fn(1);
  }

  /**
   * The run's agent, if it still exists, key-share locked until the step
   * commits: an agent deleted mid-run leaves the run's messages without one
   * instead of failing the step (and losing the answer) on the foreign key.
   */
  private async lockAgent(em: EntityManager, agentId: string): Promise<string | undefined> {
    const [row] = await em.getConnection().execute<{ id: string }[]>(
      'select id from agents where id = ? for key share',
      [agentId],
      'all',
      em.getTransactionContext(),
    );
    return row?.id;
  }

  /** Writes one step: its message (if any), its step row and the run totals, atomically. */
  async persistStep(
    run: Run,
    tipId: string | undefined,
    step: StepRecord,
    message: StepMessage | undefined,
    totals: UsageColumns & { timeToFirstTokenMs?: number; contextPlan?: Record<string, unknown> },
  ): Promise<Message | undefined> {
    return observeStepWrite(step, () => this.retrying(async (attempt) => {
      // A retry after a lost answer: the step may have committed (run_steps is unique on run and index).
      if (attempt > 1 && (await this.em().count(RunStep, { run: run.id, index: step.index }))) {
        return message ? ((await this.em().findOne(Run, { id: run.id }, { populate: ['responseMessage'] }))?.responseMessage ?? undefined) : undefined;
      }
      return this.writeStep(run, tipId, step, message, totals);
    }));
  }

  private async writeStep(
    run: Run,
    tipId: string | undefined,
    step: StepRecord,
    message: StepMessage | undefined,
    totals: UsageColumns & { timeToFirstTokenMs?: number; contextPlan?: Record<string, unknown> },
  ): Promise<Message | undefined> {
    return this.em().transactional(async (em) => {
      const agentId = run.agent && (await this.lockAgent(em, run.agent.id));
      // The active branch follows the run only if the user is still looking at its tip.
      const written = message
        ? await insertMessage(
            em,
            run.conversation.id,
            tipId,
            {
              ...message,
              model: message.role === MessageRole.ASSISTANT ? run.model : undefined,
              agent: agentId ? em.getReference(Agent, agentId) : undefined,
              run: em.getReference(Run, run.id),
              ...step.usage,
            },
            'follow',
          )
        : undefined;
      em.create(RunStep, { run: em.getReference(Run, run.id), ...step, ...step.usage } as never);
      await em.flush();
      await em.nativeUpdate(
        Run,
        { id: run.id },
        {
          ...totals,
          ...(written ? { responseMessage: written.id } : {}),
          updatedAt: new Date(),
        } as never,
      );
      return written;
    });
  }
}
