import type { EventBus } from '../events/event-bus';
import { AgentService, type AgentCatalog } from '../modules/agents/agent.service';
import { ConversationService } from '../modules/conversations/conversation.service';
import { MessageService } from '../modules/messages/message.service';
import { RunService } from '../modules/runs/run.service';
import { AuthService } from '../modules/users/auth.service';
import { UserService } from '../modules/users/user.service';

/** Stateless services, built once per process; per-request state arrives as the Context argument. */
export function createServices(deps: { bus: EventBus; catalog: AgentCatalog; jwtSecret?: string }) {
  const conversations = new ConversationService(deps.bus, deps.catalog);
  return {
    bus: deps.bus,
    auth: new AuthService(deps.jwtSecret),
    users: new UserService(),
    agents: new AgentService(deps.catalog),
    conversations,
    messages: new MessageService(conversations),
    runs: new RunService(),
  };
}

export type Services = ReturnType<typeof createServices>;
