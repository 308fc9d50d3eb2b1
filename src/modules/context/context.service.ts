import type { Runtime } from '../../runtime';
import type { Context, Viewer } from '../../server/context';
import { badInput, notFound } from '../../server/errors';
import { LIMITS, optionalId, requireText } from '../../server/validate';
import { Agent } from '../agents/agent.entity';
import type { Conversation } from '../conversations/conversation.entity';
import type { ConversationService } from '../conversations/conversation.service';
import { Message } from '../messages/message.entity';
import type { MessageService } from '../messages/message.service';
import type { ProviderRegistry, ResolvedModel } from '../providers/provider-registry';
import type { ChatToolSpec } from '../providers/provider.types';
import type { ToolRegistry } from '../tools/tool-registry';
import { BranchMerge } from './branch-merge';
import { forgetSummariesThrough } from './context-summary.sql';
import { buildModelContext, type ModelContextPlan } from './context-builder';
import { ContextStrategy } from './context-planner';
import type { ExcludeMessageInput, MergeBranchesInput, PinMessageInput } from './context.inputs';
import { ProviderSummarizer, type ContextSummarizer } from './summarizer';

export interface ContextServiceDeps {
  conversations: ConversationService;
  messages: MessageService;
  providers: ProviderRegistry;
  tools: ToolRegistry;
  summarizer: ContextSummarizer;
  defaultModel: string;
}

/** What a run in a conversation would be given when nothing is overridden. */
export interface ConversationSetup {
  model: ResolvedModel;
  systemPrompt: string | null;
  tools: ChatToolSpec[];
  strategy: ContextStrategy;
}

/** Context windows: previews of what a model is sent, pins and exclusions, and branch merges. */
export class ContextService {
  private readonly merger: BranchMerge;

  constructor(private readonly deps: ContextServiceDeps) {
    this.merger = new BranchMerge(deps.messages, deps.summarizer);
  }

  /** The plan a run on this branch would get now; writes (once) a summary the strategy needs. */
  async preview(ctx: Context, viewer: Viewer, args: { conversationId: string; leafId?: string | null; model?: string | null }): Promise<ModelContextPlan> {
    const conversation = await this.deps.conversations.get(ctx, viewer, args.conversationId, 'conversationId');
    const leafId = optionalId(args.leafId, 'leafId') ?? conversation.activeLeaf?.id;
    if (leafId && !(await ctx.em.count(Message, { id: leafId, conversation: conversation.id }))) throw notFound('Message', leafId);
    const setup = await this.setup(ctx, conversation, args.model);
    const { plan } = await buildModelContext(ctx.em, {
      conversation,
      tipId: leafId,
      modelInfo: setup.model.info,
      systemPrompt: setup.systemPrompt,
      strategy: setup.strategy,
      summarizer: this.deps.summarizer,
      tools: setup.tools,
    });
    return plan;
  }

  setPinned(ctx: Context, viewer: Viewer, input: PinMessageInput): Promise<Message> {
    return this.flag(ctx, viewer, input.messageId, 'pinned', input.pinned);
  }

  setExcluded(ctx: Context, viewer: Viewer, input: ExcludeMessageInput): Promise<Message> {
    return this.flag(ctx, viewer, input.messageId, 'excluded', input.excluded);
  }

  async mergeBranches(ctx: Context, viewer: Viewer, input: MergeBranchesInput): Promise<Message> {
    const { conversation, message } = await this.merger.merge(ctx, viewer, input, (c) => this.setup(ctx, c));
    this.deps.conversations.publish(conversation, 'MESSAGE_ADDED', message.id);
    return message;
  }

  /** Model, system prompt, tools and strategy as a run would resolve them (agent first, then conversation settings). */
  async setup(ctx: Context, conversation: Conversation, requestedModel?: string | null): Promise<ConversationSetup> {
    const agent = conversation.agent ? await ctx.em.findOne(Agent, { id: conversation.agent.id }) : null;
    const modelId =
      (requestedModel == null ? undefined : requireText(requestedModel, 'model', LIMITS.model)) ??
      agent?.model ??
      conversation.settings.model ??
      this.deps.defaultModel;
    let model: ResolvedModel;
    try {
      model = this.deps.providers.resolve(modelId);
    } catch (err) {
      throw badInput('model', (err as Error).message);
    }
    const toolNames = (agent?.tools ?? []).filter((n) => this.deps.tools.get(n));
    return {
      model,
      systemPrompt: agent?.instructions ?? conversation.settings.systemPrompt ?? null,
      tools: toolNames.length ? this.deps.tools.specs(toolNames) : [],
      strategy: conversation.settings.contextStrategy ?? ContextStrategy.SLIDING_WINDOW,
    };
  }

  /**
   * Sets pinned or excluded and, in the same transaction, forgets the stored
   * summaries that covered the message: what they summarized has changed.
   */
  private async flag(ctx: Context, viewer: Viewer, id: string, flag: 'pinned' | 'excluded', value: boolean): Promise<Message> {
    const message = await this.deps.messages.get(ctx, viewer, id, 'messageId');
    if (message[flag] === value) return message;
    await ctx.em.transactional(async (em) => {
      await em.nativeUpdate(Message, { id: message.id }, { [flag]: value });
      await forgetSummariesThrough(em, message);
    });
    message[flag] = value;
    return message;
  }
}

/** Built once per process by createServices. */
export function createContextService(rt: Runtime, deps: Pick<ContextServiceDeps, 'conversations' | 'messages'>): ContextService {
  return new ContextService({
    ...deps,
    providers: rt.providers,
    tools: rt.tools,
    summarizer: new ProviderSummarizer(rt.providers, rt.config.summaryModel),
    defaultModel: rt.config.defaultModel ?? 'demo/demo',
  });
}
