import type { EntityManager } from '@mikro-orm/postgresql';
import { Agent } from '../agents/agent.entity';
import { Conversation } from '../conversations/conversation.entity';
import { insertMessage } from '../messages/message-insert';
import { Message, MessageRole, MessageStatus, type ToolCallPart } from '../messages/message.entity';
import { Run, RunStatus, type RunErrorPart } from './run.entity';
import { RunStep, RunStepStatus, RunStepType } from './run-step.entity';
import { canTransition } from './run-state';
import type { UsageColumns } from '../usage/usage.types';

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

export interface StepMessage {
  role: MessageRole;
  content: string;
  reasoning?: string;
  toolCalls?: ToolCallPart[];
  toolCallId?: string;
  status: MessageStatus;
  latencyMs?: number;
}

/**
 * The run engine's only door to Postgres. Tokens never come here: a finished
 * step (its message, its step row and the run's running totals) is written
 * once, in one transaction.
 */
export class RunStore {
  /** `root` is the ORM's global entity manager; every operation works on a fresh fork of it. */
  constructor(private readonly root: EntityManager) {}

  em(): EntityManager {
    return this.root.fork();
  }

  async load(runId: string): Promise<Run | null> {
    return this.em().findOne(Run, { id: runId }, { populate: ['conversation', 'agent'] });
  }

  /**
   * QUEUED → IN_PROGRESS (a move run-state allows) and the run with its
   * conversation and agent, in one statement: the worker's whole way from a
   * job to a run it owns. Null when the run is not QUEUED (already taken,
   * cancelled, or its worker died).
   */
  async claim(runId: string): Promise<Run | null> {
    const em = this.em();
    const [row] = await em.getConnection().execute<Record<string, unknown>[]>(
      `with claimed as (
         update runs set status = ?, started_at = coalesce(started_at, now()), updated_at = now()
          where id = ? and status = ?
         returning *)
       select claimed.*, to_jsonb(c) as claimed_conversation, to_jsonb(a) as claimed_agent
         from claimed join conversations c on c.id = claimed.conversation_id left join agents a on a.id = claimed.agent_id`,
      [RunStatus.IN_PROGRESS, runId, RunStatus.QUEUED],
    );
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
    const moved = await this.em().nativeUpdate(Run, { id: runId, status: { $in: legal } }, { ...data, status: to, updatedAt: new Date() });
    return moved > 0;
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
