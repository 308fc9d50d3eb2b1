import { LockMode, OptimisticLockError } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Context, Viewer } from '../../server/context';
import { conflict, notFound } from '../../server/errors';
import { loadOwned, ownedBy } from '../../server/ownership';
import { toConnection, type Connection } from '../../server/relay';
import { prepared, preparedRows } from '../../db/sql';
import { LIMITS, optionalId, optionalText, requireId, requireTags, requireTemperature, requireText } from '../../server/validate';
import type { ConversationEventPayload, EventBus } from '../../events/event-bus';
import type { Message } from '../messages/message.entity';
import type { AgentCatalog } from '../agents/agent.service';
import { Agent } from '../agents/agent.entity';
import type { RunStatus } from '../runs/run.entity';
import { ACTIVE_STATUSES_SQL } from '../runs/run-state';
import { Conversation, type ConversationSettings } from './conversation.entity';
import type { ConversationFilter, ConversationSettingsInput, ConversationType } from './conversation.types';
import { conversationFromRow, type ConversationRecord } from './conversation.mappers';
import type { CreateConversationInput, DeleteConversationInput, UpdateConversationInput } from './conversation.inputs';
import { conversationListSql } from './conversation-list.sql';
import { listCursor, toListQuery } from './conversation-list';

/** Ends runs that were still active when their conversation was deleted (and went with it); resolves with what failed. */
export type RemovedRuns = (runs: { id: string; status: RunStatus }[]) => Promise<unknown[]>;

export class ConversationService {
  constructor(
    private readonly bus: EventBus,
    private readonly catalog: AgentCatalog,
    /** Ends the runs a deletion removed mid-flight, for their subscribers and workers. */
    private readonly runsRemoved: RemovedRuns = async () => [],
  ) {}

  /** The conversation if the viewer may see it; NOT_FOUND otherwise, exactly like a missing one. */
  async get(ctx: Context, viewer: Viewer, id: string, field = 'id'): Promise<Conversation> {
    return loadOwned(ctx.em, Conversation, viewer, requireId(id, field));
  }

  /**
   * The same, row-locked (FOR NO KEY UPDATE) until the caller's transaction
   * ends, so its active leaf cannot move under the caller. NO KEY UPDATE does
   * not wait for the KEY SHARE locks that message inserts take.
   */
  async getLocked(em: EntityManager, viewer: Viewer, id: string, field = 'id'): Promise<Conversation> {
    return loadOwned(em, Conversation, viewer, requireId(id, field), { forUpdate: true });
  }

  async list(
    ctx: Context,
    viewer: Viewer,
    args: { first?: number | null; after?: string | null; filter?: ConversationFilter | null },
  ): Promise<Connection<ConversationType>> {
    const query = toListQuery(viewer.id, args);
    const { sql, params } = conversationListSql(query);
    // A read: plain rows from a prepared statement (one plan per list shape), no entities.
    const rows = await preparedRows<ConversationRecord & { list_updated_at: string; list_rank: number | null }>(
      ctx.em,
      prepared('conversation_list', sql),
      params,
    );
    const page = toConnection(rows, query.limit, (r) => listCursor(query, Number(r.list_rank), r.list_updated_at, r.id), Boolean(query.after));
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: conversationFromRow(e.node) })) };
  }

  async create(ctx: Context, viewer: Viewer, input: CreateConversationInput): Promise<Conversation> {
    const title = input.title == null ? 'New conversation' : requireText(input.title, 'title', LIMITS.title);
    const agent = await this.ownAgent(ctx, viewer, input.agentId);
    const conversation = ctx.em.create(Conversation, {
      owner: viewer.id,
      title,
      tags: requireTags(input.tags) ?? [],
      settings: this.settings({}, input.settings),
      agent,
    });
    await ctx.em.flush();
    return conversation;
  }

  async update(ctx: Context, viewer: Viewer, input: UpdateConversationInput): Promise<Conversation> {
    const conversation = await this.get(ctx, viewer, input.conversationId, 'conversationId');
    if (input.expectedVersion != null && input.expectedVersion !== conversation.version) {
      throw conflict(`Conversation is at version ${conversation.version}, not ${input.expectedVersion}`, {
        currentVersion: conversation.version,
      });
    }
    if (input.title != null) conversation.title = requireText(input.title, 'title', LIMITS.title);
    if (input.tags != null) conversation.tags = requireTags(input.tags) ?? [];
    const add = requireTags(input.addTags, 'addTags') ?? [];
    const remove = new Set(requireTags(input.removeTags, 'removeTags') ?? []);
    if (add.length || remove.size) {
      conversation.tags = requireTags([...conversation.tags, ...add].filter((t) => !remove.has(t))) ?? [];
    }
    if (input.settings) conversation.settings = this.settings(conversation.settings, input.settings);
    if (input.clearAgent) conversation.agent = undefined;
    else if (input.agentId != null) conversation.agent = await this.ownAgent(ctx, viewer, input.agentId);
    if (input.archived != null) conversation.archivedAt = input.archived ? (conversation.archivedAt ?? new Date()) : undefined;
    try {
      // The version column makes this UPDATE conditional: a concurrent writer loses with CONFLICT.
      await ctx.em.flush();
    } catch (err) {
      if (err instanceof OptimisticLockError) {
        throw conflict('Conversation was changed by another request; reload and retry');
      }
      throw err;
    }
    this.publish(conversation, 'CONVERSATION_UPDATED');
    return conversation;
  }

  async delete(ctx: Context, viewer: Viewer, input: DeleteConversationInput): Promise<string> {
    const id = requireId(input.conversationId, 'conversationId');
    const { conversation, active } = await ctx.em.transactional(async (em) => {
      // Locked first, so a run started on the active leaf has either committed (and is among
      // `active`) or waits for this deletion and then finds no conversation; one started on a named
      // parent fails its insert on the foreign key (NOT_FOUND).
      const conversation = await em.findOne(Conversation, { id, ...ownedBy(viewer) }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!conversation) throw notFound('Conversation', id);
      const active = await em.getConnection().execute<{ id: string; status: RunStatus }[]>(
        'select id, status from runs where conversation_id = ? and status = any(?::run_status[])',
        [id, ACTIVE_STATUSES_SQL],
        'all',
        em.getTransactionContext(),
      );
      // Messages, runs and steps go with it through ON DELETE CASCADE, in one statement.
      await em.nativeDelete(Conversation, { id });
      return { conversation, active };
    });
    this.publish(conversation, 'CONVERSATION_DELETED');
    // The deletion stands whatever happens here; a run left unended is logged for the operator.
    for (const err of await this.runsRemoved(active)) ctx.logger.error({ err, conversationId: id }, 'could not end a run of a deleted conversation');
    return id;
  }

  /** What a conversation event refers to, read fresh (the subscriber's own scope was checked at subscribe). */
  async eventSubjects(
    ctx: Context,
    event: ConversationEventPayload,
  ): Promise<{ conversation: Conversation | null; message: Message | null }> {
    const conversation =
      event.type === 'CONVERSATION_DELETED' ? null : await ctx.em.findOne(Conversation, { id: event.conversationId });
    const message = event.messageId ? await ctx.loaders.messageById.load(event.messageId) : null;
    return { conversation, message };
  }

  publish(conversation: Conversation, type: 'CONVERSATION_UPDATED' | 'CONVERSATION_DELETED' | 'MESSAGE_ADDED', messageId?: string): void {
    this.bus.publishConversation({
      type,
      conversationId: conversation.id,
      ownerId: conversation.owner.id,
      messageId,
      at: new Date().toISOString(),
    });
  }

  private async ownAgent(ctx: Context, viewer: Viewer, agentId?: string | null): Promise<Agent | undefined> {
    const id = optionalId(agentId, 'agentId');
    if (!id) return undefined;
    const agent = await ctx.em.findOne(Agent, { id, ...ownedBy(viewer) });
    if (!agent) throw notFound('Agent', id);
    return agent;
  }

  private settings(current: ConversationSettings, input?: ConversationSettingsInput | null): ConversationSettings {
    if (!input) return current;
    const next = { ...current };
    if (input.model !== undefined) {
      if (input.model === null) delete next.model;
      else {
        this.catalog.checkModel(requireText(input.model, 'settings.model', LIMITS.model), 'settings.model');
        next.model = input.model;
      }
    }
    if (input.systemPrompt !== undefined) {
      if (input.systemPrompt === null) delete next.systemPrompt;
      else next.systemPrompt = optionalText(input.systemPrompt, 'settings.systemPrompt', LIMITS.systemPrompt);
    }
    if (input.temperature !== undefined) {
      if (input.temperature === null) delete next.temperature;
      else next.temperature = requireTemperature(input.temperature, 'settings.temperature');
    }
    if (input.contextStrategy !== undefined) {
      if (input.contextStrategy === null) delete next.contextStrategy;
      else next.contextStrategy = input.contextStrategy;
    }
    return next;
  }
}
