import { GraphQLError } from 'graphql';
import type Redis from 'ioredis';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Viewer } from './context';
import { AppError, ErrorCode } from './errors';
import { operationDraws, type RateLimits } from './rate-limit';
import { MemorySubscriptionSlots, RedisSubscriptionSlots, type ReleaseSlot } from './subscription-slots';

export interface WsLimitsOptions {
  config: Pick<Config, 'maxSubscriptionsPerSocket' | 'maxSubscriptionsPerUser' | 'redisPrefix'>;
  rateLimits: RateLimits;
  redis?: Redis;
  logger: Logger;
}

interface SocketState {
  viewer: Viewer;
  /** Operations holding a slot: id → how to give it back (undefined while it is being taken). */
  held: Map<string, ReleaseSlot | undefined>;
  closed: boolean;
}

/**
 * Limits on what one socket and one user open over graphql-ws, checked in one
 * place: `admit` from `onSubscribe`, before the document is even parsed. Every
 * graphql-ws operation (a Subscribe message, whatever its operation type)
 * counts as a subscription opened and holds a slot until it ends. A refusal
 * is an error for that operation only; the socket and its other operations
 * carry on. graphql-ws ends an operation through `onComplete`, `onError`
 * (refused by validation) or the socket closing, so all three give slots back.
 */
export function createWsLimits(opts: WsLimitsOptions) {
  const { maxSubscriptionsPerSocket: maxPerSocket, maxSubscriptionsPerUser: maxPerUser, redisPrefix } = opts.config;
  const sockets = new WeakMap<object, SocketState>();
  const perUser = Number.isFinite(maxPerUser);
  const slots =
    opts.redis && perUser
      ? new RedisSubscriptionSlots(opts.redis, redisPrefix, (err) => opts.logger.warn({ err }, 'subscription slot bookkeeping failed'))
      : new MemorySubscriptionSlots();

  const refuse = (err: AppError) => [new GraphQLError(err.message, { originalError: err })];
  const full = (limit: 'subscriptionsPerSocket' | 'subscriptionsPerUser', max: number) =>
    refuse(
      new AppError(ErrorCode.RATE_LIMITED, `At most ${max} subscriptions per ${limit === 'subscriptionsPerSocket' ? 'connection' : 'user'} at once; complete one first`, {
        limit,
        maxSubscriptions: max,
      }),
    );

  function asAppError(err: unknown): AppError {
    if (err instanceof AppError) return err;
    opts.logger.error({ err }, 'rate limits unavailable');
    return new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'Rate limits could not be checked right now; retry');
  }

  async function takeUserSlot(viewer: Viewer): Promise<ReleaseSlot | undefined> {
    if (!perUser) return () => undefined;
    try {
      return await slots.acquire(viewer.id, maxPerUser);
    } catch (err) {
      // Redis trouble must not take subscriptions down with it: admitted uncounted, logged.
      opts.logger.warn({ err }, 'subscription slots unavailable; admitting uncounted');
      return () => undefined;
    }
  }

  function release(ctx: object, id: string): void {
    const socket = sockets.get(ctx);
    const slot = socket?.held.get(id);
    if (!socket || !socket.held.has(id)) return;
    socket.held.delete(id);
    slot?.();
  }

  return {
    /** From `onConnect`, once the socket's viewer is known. */
    connected(ctx: object, viewer: Viewer): void {
      sockets.set(ctx, { viewer, held: new Map(), closed: false });
    },

    /** From `onSubscribe`: errors refuse this operation; undefined lets it go on. */
    async admit(ctx: object, id: string): Promise<GraphQLError[] | undefined> {
      const socket = sockets.get(ctx);
      if (!socket) return undefined; // not acknowledged: graphql-ws closes the socket itself
      // An id reused while its earlier operation still holds a slot (it was completed mid-admission,
      // so graphql-ws reported neither onComplete nor onError): that slot is given back first.
      if (socket.held.has(id)) release(ctx, id);
      if (socket.held.size >= maxPerSocket) return full('subscriptionsPerSocket', maxPerSocket);
      socket.held.set(id, undefined); // counted before any await: a burst on one socket is counted exactly
      const [slot, rate] = await Promise.allSettled([
        takeUserSlot(socket.viewer),
        opts.rateLimits.consume(operationDraws('subscriptions', socket.viewer, undefined)),
      ]);
      const give = slot.status === 'fulfilled' ? slot.value : undefined;
      if (give && rate.status === 'fulfilled' && !socket.closed) {
        socket.held.set(id, give);
        return undefined;
      }
      // Refused, or the socket closed meanwhile (then nobody hears the answer): nothing stays held.
      give?.();
      socket.held.delete(id);
      if (rate.status === 'rejected') return refuse(asAppError(rate.reason));
      return give ? [new GraphQLError('Connection closed')] : full('subscriptionsPerUser', maxPerUser);
    },

    /** From `onComplete` and `onError`. */
    release,

    /** From `onClose`: whatever the socket still held. */
    closed(ctx: object): void {
      const socket = sockets.get(ctx);
      if (!socket) return;
      socket.closed = true;
      for (const id of [...socket.held.keys()]) release(ctx, id);
    },

    /** Stops renewing this node's leases (at shutdown, after the sockets closed). */
    close: () => slots.close(),
  };
}

export type WsLimits = ReturnType<typeof createWsLimits>;
