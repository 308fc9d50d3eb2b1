import type { Runtime } from '../runtime';
import { AgentService } from '../modules/agents/agent.service';
import { ConversationService } from '../modules/conversations/conversation.service';
import { MessageService } from '../modules/messages/message.service';
import { RunService } from '../modules/runs/run.service';
import { RunCommandService } from '../modules/runs/run-commands.service';
import { RunStore } from '../modules/runs/run-store';
import { endRemovedRuns } from '../modules/runs/run-outcome';
import { AuthService } from '../modules/users/auth.service';
import { UserService } from '../modules/users/user.service';
import { MemoryRevocations, RedisRevocations } from '../modules/users/revocations';
import type { RunStatus } from '../modules/runs/run.entity';
import { BranchService } from '../modules/branches/branch.service';
import { ComparisonService } from '../modules/branches/comparison.service';
import { UsageService } from '../modules/usage/usage.service';
import { SearchService } from '../modules/search/message-search.service';
import { TreeService } from '../modules/tree/tree.service';
import { TransferService } from '../modules/transfer/transfer.service';
import { createContextService } from '../modules/context/context.service';
import { createCatalog } from './catalog';
import { createRateLimits } from './rate-limit';
import { AuthFailures } from './auth-failures';

/** Stateless services, built once per process; per-request state arrives as the Context argument. */
export function createServices(rt: Runtime) {
  const catalog = createCatalog(rt.providers, rt.tools);
  const endRuns = (removed: { id: string; status: RunStatus }[]) => endRemovedRuns({ log: rt.eventLog, signals: rt.signals }, removed);
  const conversations = new ConversationService(rt.bus, catalog, endRuns);
  const revocations = rt.redis
    ? new RedisRevocations(rt.redis, rt.config.redisPrefix, (err) => rt.logger.warn({ err }, 'revocation channel unavailable'))
    : new MemoryRevocations();
  const messages = new MessageService(conversations);
  const agents = new AgentService(catalog);
  const runs = new RunService();
  const rateLimits = createRateLimits(rt.config.rateLimits, rt.redis, rt.config.redisPrefix);
  return {
    bus: rt.bus,
    eventLog: rt.eventLog,
    providers: rt.providers,
    tools: rt.tools,
    auth: new AuthService(rt.config.jwtSecret, { issuer: rt.config.jwtIssuer, audience: rt.config.jwtAudience }),
    revocations,
    rateLimits,
    authFailures: new AuthFailures(rateLimits),
    users: new UserService({ revocations, runsRemoved: endRuns }),
    agents,
    conversations,
    messages,
    context: createContextService(rt, { conversations, messages }),
    branches: new BranchService(),
    comparisons: new ComparisonService(),
    usage: new UsageService(),
    search: new SearchService(),
    tree: new TreeService(),
    transfer: new TransferService(),
    runs,
    runCommands: new RunCommandService({
      conversations,
      messages,
      agents,
      runs,
      log: rt.eventLog,
      queue: rt.queue,
      signals: rt.signals,
      providers: rt.providers,
      tools: rt.tools,
      defaultModel: rt.config.defaultModel ?? 'demo/demo',
      store: new RunStore(rt.orm.em),
      maxActiveRunsPerUser: rt.config.maxActiveRunsPerUser,
    }),
  };
}

export type Services = ReturnType<typeof createServices>;
