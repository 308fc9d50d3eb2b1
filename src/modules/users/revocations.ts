import { EventEmitter } from 'node:events';
import type Redis from 'ioredis';

/** Credentials that stopped being valid: an API key revoked, or a user removed (all their keys and tokens). */
export type Revocation = { apiKeyId: string; userId?: undefined } | { userId: string; apiKeyId?: undefined };

export type RevocationListener = (revocation: Revocation) => void;

/**
 * Tells every API node that a credential ended, so each can end the
 * subscriptions it serves under it. Authentication itself needs no message:
 * it reads the database on every request and socket operation. Published after
 * the change commits; at most once per change, so a node that misses one
 * (Redis briefly away) still refuses the credential at its next operation.
 *
 * Its own Redis channel rather than a topic of the EventBus: the bus carries
 * conversation events to subscribers, this one carries a command to the
 * server's transport.
 */
export interface Revocations {
  publish(revocation: Revocation): Promise<void>;
  /** Listens on this node; the returned function stops listening. */
  listen(listener: RevocationListener): () => void;
  close(): Promise<void>;
}

const EVENT = 'revoked';

function isRevocation(value: unknown): value is Revocation {
  const v = value as Record<string, unknown> | null;
  return typeof v === 'object' && v !== null && (typeof v.apiKeyId === 'string' || typeof v.userId === 'string');
}

/** One process: listeners hear revocations published in it. */
export class MemoryRevocations implements Revocations {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(revocation: Revocation): Promise<void> {
    this.emitter.emit(EVENT, revocation);
  }

  listen(listener: RevocationListener): () => void {
    this.emitter.on(EVENT, listener);
    return () => this.emitter.off(EVENT, listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/**
 * Redis pub/sub on `<prefix>auth:revoked`. The subscribing connection is
 * opened by the first listener, so a process that only publishes (a worker)
 * holds no extra connection.
 */
export class RedisRevocations implements Revocations {
  private readonly local = new MemoryRevocations();
  private subscriber?: Redis;
  private readonly channel: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly onError: (err: unknown) => void,
  ) {
    this.channel = `${prefix}auth:revoked`;
  }

  async publish(revocation: Revocation): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify(revocation));
  }

  listen(listener: RevocationListener): () => void {
    if (!this.subscriber) {
      const sub = (this.subscriber = this.redis.duplicate());
      sub.on('message', (channel: string, text: string) => {
        if (channel !== this.channel) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (isRevocation(parsed)) void this.local.publish(parsed);
      });
      // ioredis re-subscribes by itself after a reconnect.
      sub.subscribe(this.channel).catch(this.onError);
      sub.on('error', this.onError);
    }
    return this.local.listen(listener);
  }

  async close(): Promise<void> {
    await this.local.close();
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}
