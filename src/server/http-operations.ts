import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from './context';
import { AppError, ErrorCode } from './errors';
import { asGraphQLError } from './query-limits';

/**
 * Subscriptions are served over graphql-ws only. Over HTTP a subscription
 * would be executed like a query, each field resolving without an event, so
 * it is refused (400, BAD_USER_INPUT) before any resolver runs.
 */
export const subscriptionsOverWebSocketOnly: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation !== 'subscription') return;
        const refusal = new AppError(ErrorCode.BAD_USER_INPUT, 'Subscriptions are served over WebSocket (graphql-ws protocol) at this same /graphql path, not over HTTP');
        throw asGraphQLError(refusal, { http: { status: 400 } });
      },
    };
  },
};
