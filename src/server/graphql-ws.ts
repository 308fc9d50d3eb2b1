import type { IncomingMessage } from 'node:http';
import { execute, type GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { authenticate, createContext, type Authentication, type ContextDeps } from './context-factory';
import type { LiveSubscriptions, SocketCredential } from './live-subscriptions';
import { collapseStopErrors, withDeadline } from './operation-deadline';
import type { QueryGuard } from './query-guard';
import { createSubscriptionDelivery } from './shared-subscription';
import { SocketWriter } from './socket-writer';
import type { WsLimits } from './ws-limits';
import { observeWsOperations } from '../observability/operations';

export interface GraphqlWsOptions {
  schema: GraphQLSchema;
  deps: ContextDeps;
  guard: QueryGuard;
  wsLimits: WsLimits;
  live: LiveSubscriptions;
  /** PARLEY_OPERATION_TIMEOUT_MS, undefined without guardrails. */
  timeoutMs: number | undefined;
  connectionInitWaitTimeout: number;
  format: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** The client's address, as HTTP sees it (trust proxy). */
  clientIpOf: (request: IncomingMessage) => string | undefined;
}

/** What a socket keeps from connection_init on. */
interface SocketState {
  authorization?: string;
  clientIp?: string;
  credential: SocketCredential;
  writer: SocketWriter;
}

interface Extra {
  socket: WebSocket;
  request: IncomingMessage;
  state?: SocketState;
}

/**
 * graphql-ws on the node's WebSocket server. A socket authenticates once, at
 * connection_init; its operations reuse that viewer (an API key's revocation
 * reaches them through `live`). A JWT is checked again for each operation,
 * since it can expire while the socket stays open. Subscription events are
 * delivered by server/shared-subscription.ts, written through one
 * SocketWriter per socket.
 */
export function serveGraphqlWs(wsServer: WebSocketServer, opts: GraphqlWsOptions) {
  const { schema, deps, guard, wsLimits, live, timeoutMs, format } = opts;
  const formatResult = <R extends { errors?: readonly GraphQLError[] }>(result: R) =>
    result.errors ? { ...result, errors: collapseStopErrors(result.errors.map((e) => format(e, e))) } : result;
  const delivery = createSubscriptionDelivery(schema, { timeoutMs, formatResult });
  const transient = () => deps.orm.em.fork();

  async function operationAuth(state: SocketState): Promise<Authentication> {
    const { credential } = state;
    if (credential.revoked) return { authError: credential.revoked };
    if (credential.viewer.apiKeyId) return { viewer: credential.viewer };
    return authenticate(deps, transient, state.authorization, state.clientIp);
  }

  return useServer(
    observeWsOperations(deps.logger, {
      schema,
      connectionInitWaitTimeout: opts.connectionInitWaitTimeout,
      // Limits first: a refused operation costs no parsing.
      onSubscribe: async (ctx, id, payload) => (await wsLimits.admit(ctx, id)) ?? guard.onSubscribe(schema, payload),
      onComplete: (ctx, id) => wsLimits.release(ctx, id),
      onClose: (ctx) => {
        wsLimits.closed(ctx);
        const { state } = ctx.extra as Extra;
        if (state) live.disconnected(state.credential);
      },
      execute: withDeadline(timeoutMs, execute),
      // The deadline covers setting the subscription up, then each event's execution on its own.
      subscribe: async (args) => live.track(args, await delivery.subscribe(args)),
      onConnect: async (ctx) => {
        const extra = ctx.extra as Extra;
        const params = ctx.connectionParams ?? {};
        const header = params.authorization ?? params.Authorization;
        const authorization = typeof header === 'string' ? header : undefined;
        // Failed authentications count per address, as over HTTP (src/server/auth-failures.ts).
        const clientIp = opts.clientIpOf(extra.request);
        const { viewer } = await authenticate(deps, transient, authorization, clientIp);
        if (!viewer) return false; // graphql-ws closes with 4403 Forbidden
        wsLimits.connected(ctx, viewer);
        extra.state = { authorization, clientIp, credential: live.connected(viewer), writer: new SocketWriter(extra.socket, extra.request.socket) };
        return true;
      },
      context: async (ctx, id) => {
        const state = (ctx.extra as Extra).state!;
        const context = createContext(deps, await operationAuth(state), { clientIp: state.clientIp });
        delivery.bind(context, { writer: state.writer, id });
        return context;
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? formatResult(result) : undefined),
      onError: (ctx, id, _payload, errors) => {
        wsLimits.release(ctx, id);
        return errors.map((e) => format(e, e));
      },
    }),
    wsServer,
  );
}
