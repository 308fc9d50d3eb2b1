import {
  GraphQLError,
  getOperationAST,
  specifiedRules,
  type ExecutionArgs,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { SubscribePayload } from 'graphql-ws';
import type { Config } from '../config';
import type { Context } from './context';
import { asGraphQLError, costRefusal, parseOptions, validationRules } from './query-limits';
import { DocumentCache } from './document-cache';

/**
 * The query limits of query-limits.ts wired into both transports. Apollo
 * parses and validates itself (it is handed the options and rules) and gets
 * the cost check as a plugin; graphql-ws hands every subscribe message to
 * `onSubscribe`, which parses, validates and costs it, so a refused operation
 * gets an `error` message of its own and the socket and its other operations
 * carry on.
 */
export interface QueryGuard {
  parseOptions: ParseOptions;
  validationRules: ValidationRule[];
  apolloPlugin: ApolloServerPlugin<Context>;
  onSubscribe(schema: GraphQLSchema, payload: SubscribePayload): ExecutionArgs | readonly GraphQLError[];
}

export function createQueryGuard(config: Pick<Config, 'queryLimits' | 'introspection' | 'guardrails'>): QueryGuard {
  // PARLEY_GUARDRAILS=off (benchmarks) keeps only the introspection switch, which is no guardrail.
  const limits = config.guardrails ? config.queryLimits : undefined;
  const options = limits ? parseOptions(limits) : {};
  const rules = validationRules(limits, config.introspection);
  const allRules = [...specifiedRules, ...rules];

  const apolloPlugin: ApolloServerPlugin<Context> = {
    async requestDidStart() {
      if (!limits) return;
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return; // Apollo refuses a document without the named operation itself.
          const refusal = costRefusal(schema, document, operation, request.variables, limits);
          // Refused like a validation error: 400, before any resolver runs.
          if (refusal) throw asGraphQLError(refusal, { http: { status: 400 } });
        },
      };
    },
  };

  /** One cache per schema (a node has one): subscriptions sending the same text share its document. */
  const caches = new WeakMap<GraphQLSchema, DocumentCache>();

  function onSubscribe(schema: GraphQLSchema, payload: SubscribePayload): ExecutionArgs | readonly GraphQLError[] {
    let cache = caches.get(schema);
    if (!cache) caches.set(schema, (cache = new DocumentCache(schema, options, allRules)));
    let checked: ReturnType<DocumentCache['parseAndValidate']>;
    try {
      checked = cache.parseAndValidate(payload.query);
    } catch (err) {
      // A syntax error, the token limit, or (a limit raised too far) the parser's recursion: as Apollo
      // marks them, so the one formatter words both transports' parse errors alike.
      if (!(err instanceof GraphQLError) && !(err instanceof RangeError)) throw err;
      const at = err instanceof GraphQLError ? { source: err.source, positions: err.positions } : {};
      return [new GraphQLError(err.message, { ...at, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
    }
    if (checked.errors) return checked.errors;
    const { document } = checked;
    const args = { schema, document, operationName: payload.operationName, variableValues: payload.variables };
    const operation = getOperationAST(document, payload.operationName);
    // Without an operation graphql-ws answers "Unable to identify operation" itself.
    const refusal = operation && limits ? costRefusal(schema, document, operation, payload.variables ?? undefined, limits) : undefined;
    return refusal ? [asGraphQLError(refusal)] : args;
  }

  return { parseOptions: options, validationRules: rules, apolloPlugin, onSubscribe };
}
