import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import type Redis from 'ioredis';

/** What a conversation subscriber is told; ids only, so it survives JSON and is re-read per event. */
export interface ConversationEventPayload {
  type: 'MESSAGE_ADDED' | 'CONVERSATION_UPDATED' | 'CONVERSATION_DELETED';
  conversationId: string;
  ownerId: string;
  messageId?: string;
  at: string;
}

/** The one typed map of pub/sub topics. Keys carry the deployment's Redis prefix. */
type Topics = {
  [topic: `${string}conversation:${string}`]: [ConversationEventPayload];
};

/**
 * Cross-node notifications (conversation changes). In-process when Redis is
 * absent; through Redis pub/sub otherwise so every API node sees every event.
 * Run events do not go here: they have their own replayable log.
 */
export class EventBus {
  private readonly pubsub: PubSub<Topics>;

  constructor(
    private readonly prefix: string,
    redis?: { publish: Redis; subscribe: Redis; onError: (err: unknown) => void },
  ) {
    this.pubsub = createPubSub<Topics>(redis ? { eventTarget: redisEventTarget(redis) } : undefined);
  }

  publishConversation(payload: ConversationEventPayload): void {
    this.pubsub.publish(`${this.prefix}conversation:${payload.conversationId}`, payload);
  }

  conversation(conversationId: string): AsyncIterable<ConversationEventPayload> {
    return this.pubsub.subscribe(`${this.prefix}conversation:${conversationId}`);
  }
}

/**
 * The Redis event target calls publish, subscribe and unsubscribe without
 * handling their promises: with Redis away, one rejected PUBLISH (a
 * sendMessage's MESSAGE_ADDED) was an unhandled rejection that took the whole
 * API node down. Conversation events are notifications, not the record: a
 * lost one is logged; ioredis renews subscriptions once it reconnects.
 */
function redisEventTarget(redis: { publish: Redis; subscribe: Redis; onError: (err: unknown) => void }) {
  const { publish, subscribe, onError } = redis;
  return createRedisEventTarget({
    publishClient: { publish: (channel: string, message: string) => publish.publish(channel, message).catch(onError) } as unknown as Redis,
    subscribeClient: {
      on: (event: 'message', listener: (channel: string, message: string) => void) => subscribe.on(event, listener),
      subscribe: (channel: string) => subscribe.subscribe(channel).catch(onError),
      unsubscribe: (channel: string) => subscribe.unsubscribe(channel).catch(onError),
    } as unknown as Redis,
  });
}
