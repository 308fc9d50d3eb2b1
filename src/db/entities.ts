import { User } from '../modules/users/user.entity';
import { ApiKey } from '../modules/users/api-key.entity';
import { Agent } from '../modules/agents/agent.entity';
import { Conversation } from '../modules/conversations/conversation.entity';
import { Message } from '../modules/messages/message.entity';
import { Run } from '../modules/runs/run.entity';
import { RunStep } from '../modules/runs/run-step.entity';
import { ContextSummary } from '../modules/context/context-summary.entity';

/** Every entity, listed once: the ORM and the migration tooling both read this. */
export const entities = [User, ApiKey, Agent, Conversation, Message, Run, RunStep, ContextSummary];
