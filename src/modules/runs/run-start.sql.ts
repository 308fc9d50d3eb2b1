import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../../server/context';
import { isAdmin } from '../../server/ownership';
import { insertColumns, runScript, type ScriptStatement } from '../../db/sql';
import { Agent } from '../agents/agent.entity';
import { Conversation } from '../conversations/conversation.entity';
import { User } from '../users/user.entity';
import { Message } from '../messages/message.entity';
import { insertedMessage, messageInsertCtes, type NewMessageRow } from '../messages/message-insert';
import { Run, RunStatus } from './run.entity';
import { ACTIVE_STATUSES_SQL } from './run-state';
import { ADMISSION_LOCK_SQL, SLOT_COUNT_SQL, isCapped } from './run-admission';
import type { RunOptions } from './run-options';

/** What a run continues from: a message of the conversation, its active leaf, or nothing (a new root message). */
export type RunTip = { messageId: string } | 'activeLeaf' | 'root';

export interface RunStartRequest {
  viewer: Viewer;
  conversationId: string;
  /** From the active leaf, the conversation is locked first: concurrent starts on one leaf see each other. */
  tip: RunTip;
  /** The user message the run answers, added under the tip (a send); without one the run answers the tip itself. */
  message?: NewMessageRow;
  /** The request's agent; else the conversation's, if any. */
  agentId?: string;
  /** The request's model, already validated; else the agent's, the conversation's, then `defaultModel`. */
  model?: string;
  defaultModel: string;
  /** The providers configured: a model of any other is refused (`modelUsable` false) and nothing is written. */
  providers: readonly string[];
  /** The run's options from the request; the agent's temperature and timeout fill in what it leaves out. */
  options: RunOptions;
  /** Client tools that must not share a name with the agent's server tools (empty when the request names the server tools). */
  clientToolNames: readonly string[];
  maxActiveRuns: number;
  /** The new run's own columns. */
  run: { branchKey?: string; comparisonId?: string };
}

/**
 * Why a start wrote nothing, or what it wrote. The checks mirror the order in
 * which RunCommandService reports them; `run` is set only when every one passed.
 */
export interface RunStartOutcome {
  conversationOwnerId: string;
  /** The agent the run would use (the request's or the conversation's), and whether the viewer may use it. */
  agentWanted: string | null;
  agentFound: boolean;
  agentTools: string[];
  model: string;
  modelUsable: boolean;
  clientToolClash: boolean;
  tipId: string | null;
  tipFound: boolean;
  busy: { id: string; status: RunStatus } | null;
  activeRuns: number;
  message?: Message;
  run?: Run;
}

interface OutcomeRow {
  owner_id: string;
  agent_wanted: string | null;
  agent_id: string | null;
  agent_tools: string[];
  model: string;
  model_usable: boolean;
  tool_clash: boolean;
  options: RunOptions;
  active: number;
  tip_id: string | null;
  tip_found: boolean;
  busy_id: string | null;
  busy_status: RunStatus | null;
  message_id: string | null;
  message_depth: number | null;
  run_id: string | null;
}

/** A Postgres text[] literal: every element quoted, so any text survives. */
const textArray = (values: readonly string[]): string => `{${values.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;

/**
 * Starts a run in one round trip (`runScript`): locks (the conversation when
 * continuing its active leaf, then the user for the active-run cap, as every
 * run-starting transaction orders them), then one statement that reads the
 * conversation, the agent and the tip, checks ownership, the branch policy
 * ("reject": no second active run on a branch), the cap and the model's
 * provider, and only if all pass inserts the message (if any) and the QUEUED
 * run. The partial unique index runs_one_active_per_branch still has the last
 * word on a race between two starts that did not lock the same row.
 */
export async function startRunStatement(em: EntityManager, req: RunStartRequest): Promise<RunStartOutcome | null> {
  const { viewer, conversationId } = req;
  const admin = isAdmin(viewer);
  const capped = isCapped(req.maxActiveRuns);
  const statements: ScriptStatement[] = [];
  if (req.tip === 'activeLeaf') {
    statements.push({ sql: 'select 1 from conversations where id = ? and (owner_id = ? or ?) for no key update', params: [conversationId, viewer.id, admin] });
  }
  if (capped) statements.push({ sql: ADMISSION_LOCK_SQL, params: [viewer.id] });

  const run = em.create(
    Run,
    {
      conversation: em.getReference(Conversation, conversationId),
      owner: em.getReference(User, viewer.id),
      model: '',
      branchKey: '',
      comparisonId: req.run.comparisonId,
    },
    { persist: false },
  );
  const runRow = insertColumns(em, Run, run);
  // Columns the statement derives from what it read; the rest are the new entity's values.
  const derived = (column: string): string | undefined =>
    ({
      model: 'ok.model',
      agent_id: 'ok.agent_id',
      options: 'ok.options',
      input_message_id: req.message ? 'inserted.id' : 'ok.tip_id',
      branch_key: req.run.branchKey !== undefined ? undefined : req.message ? 'inserted.id::text' : 'ok.tip_id::text',
    })[column];
  const runValues: unknown[] = [];
  const runSelect = runRow.columns.map((column, i) => {
    const expression = derived(column);
    if (expression) return expression;
    runValues.push(column === 'branch_key' ? req.run.branchKey : runRow.values[i]);
    return '?';
  });

  const tipSql = req.tip === 'root' ? 'null::uuid' : req.tip === 'activeLeaf' ? 'conv.active_leaf_id' : '?::uuid';
  const tipParams = typeof req.tip === 'object' ? [req.tip.messageId] : [];
  const agentWanted = '(select coalesce(?::uuid, conv.agent_id) from conv)';
  const params: unknown[] = [];
  const p = (...values: unknown[]) => {
    params.push(...values);
    return '';
  };
  const message = req.message
    ? messageInsertCtes(req.message, conversationId, { sql: 'from ok left join tip_message p on true', params: [] }, 'move')
    : undefined;
  // The tip must exist in the conversation; a send without a tip makes a root message, a start without one has nothing to answer.
  const tipAcceptable = req.message ? '(tip.id is null or exists (select 1 from tip_message))' : 'exists (select 1 from tip_message)';
  const sql = `with conv as (
      select c.id, c.owner_id, c.agent_id, c.active_leaf_id, c.settings->>'model' as model
        from conversations c
       where c.id = ?${p(conversationId)} and (c.owner_id = ?${p(viewer.id)} or ?${p(admin)})
    ), agent as (
      select a.id, a.model, a.temperature, a.run_timeout_ms, a.tools
        from agents a
       where a.id = ${agentWanted}${p(req.agentId ?? null)} and (a.owner_id = ?${p(viewer.id)} or ?${p(admin)})
    ), tip as (
      select ${tipSql}${p(...tipParams)} as id from conv
    ), tip_message as (
      select m.id, m.depth from messages m join tip on m.id = tip.id where m.conversation_id = ?${p(conversationId)}
    ), busy as (
      select r.id, r.status from runs r join tip on r.branch_key = tip.id::text or r.response_message_id = tip.id
       where r.conversation_id = ?${p(conversationId)} and r.status = any(?${p(ACTIVE_STATUSES_SQL)}::run_status[])
       limit 1
    ), plan as (
      select coalesce(?${p(req.model ?? null)}, agent.model, conv.model, ?${p(req.defaultModel)}) as model,
             agent.id as agent_id,
             coalesce(agent.tools, '{}') as agent_tools,
             jsonb_strip_nulls(jsonb_build_object('temperature', agent.temperature, 'timeoutMs', agent.run_timeout_ms)) || ?${p(JSON.stringify(req.options))}::jsonb as options,
             ${capped ? `(${SLOT_COUNT_SQL})${p(viewer.id)}` : '0'} as active
        from conv left join agent on true
    ), checked as (
      select plan.*,
             split_part(plan.model, '/', 1) = any(?${p(textArray(req.providers))}::text[]) as model_usable,
             plan.agent_tools && ?${p(textArray(req.clientToolNames))}::text[] as tool_clash
        from plan
    ), ok as (
      select checked.*, tip.id as tip_id
        from checked, tip
       where (${agentWanted}${p(req.agentId ?? null)} is null or checked.agent_id is not null)
         and checked.model_usable and not checked.tool_clash
         and not exists (select 1 from busy)
         ${capped ? `and checked.active < ?${p(req.maxActiveRuns)}` : ''}
         and ${tipAcceptable}
    )${message ? `, ${message.sql}${p(...message.params)}` : ''}, run as (
      insert into runs (${runRow.columns.map((c) => `"${c}"`).join(', ')})
      select ${runSelect.join(', ')}${p(...runValues)} from ok${message ? ' join inserted on true' : ''}
      returning id
    )
    select conv.owner_id, ${agentWanted}${p(req.agentId ?? null)} as agent_wanted,
           checked.agent_id, checked.agent_tools, checked.model, checked.model_usable, checked.tool_clash, checked.options, checked.active,
           (select id from tip) as tip_id, exists (select 1 from tip_message) as tip_found,
           (select id from busy) as busy_id, (select status from busy) as busy_status,
           ${message ? '(select id from inserted) as message_id, (select depth from inserted) as message_depth' : 'null as message_id, null as message_depth'},
           (select id from run) as run_id
      from conv, checked`;
  statements.push({ sql, params, prepare: 'run_start' });

  const [row] = await runScript<OutcomeRow>(em, statements);
  if (!row) return null;
  const outcome: RunStartOutcome = {
    conversationOwnerId: row.owner_id,
    agentWanted: row.agent_wanted,
    agentFound: row.agent_id !== null,
    agentTools: row.agent_tools,
    model: row.model,
    modelUsable: row.model_usable,
    clientToolClash: row.tool_clash,
    tipId: row.tip_id,
    tipFound: row.tip_found,
    busy: row.busy_id ? { id: row.busy_id, status: row.busy_status! } : null,
    activeRuns: row.active,
  };
  if (!row.run_id) return outcome;
  const inputMessage = req.message ? insertedMessage(em, req.message, row.tip_id, row.message_depth!) : undefined;
  const inputId = inputMessage?.id ?? row.tip_id!;
  run.model = row.model;
  run.agent = row.agent_id ? em.getReference(Agent, row.agent_id) : undefined;
  run.options = row.options as Record<string, unknown>;
  run.branchKey = req.run.branchKey ?? inputId;
  run.inputMessage = inputMessage ?? em.getReference(Message, inputId);
  run.status = RunStatus.QUEUED;
  return { ...outcome, message: inputMessage, run: em.merge(run) };
}
