import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { WebSocketServer } from 'ws';
import type { Config } from '../config';
import { createLogger, type Logger } from '../logger';
import { createRuntime, type Runtime } from '../runtime';
import { ensureAdmin } from '../modules/users/user.service';
import { createSchema } from './schema';
import { createServices, type Services } from './services';
import { buildContext } from './context-factory';
import { formatError } from './errors';
import { mountHealth } from './health';
import { mountExplorer } from './explorer';
import { corsMiddleware, websocketOriginCheck } from './cors';
import type { Context } from './context';
import { startWorker } from '../worker-loop';
import { serveGraphqlWs } from './graphql-ws';
import { createHttpRateLimits } from './http-rate-limits';
import { createWsLimits } from './ws-limits';
import { createLiveSubscriptions } from './live-subscriptions';
import { upgradeClientIp } from './auth-failures';
import { createQueryGuard } from './query-guard';
import { subscriptionsOverWebSocketOnly } from './http-operations';
import { deadlinePlugin, httpDeadline, stopOnAbort } from './operation-deadline';
import { observeHttpOperations, operationsPlugin, serveMetrics } from '../observability';

export interface ParleyApp {
  url: string;
  port: number;
  runtime: Runtime;
  services: Services;
  logger: Logger;
  /** Set on the first start of an empty database when no PARLEY_ADMIN_KEY is configured. */
  bootstrapAdminKey?: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Receives every SQL statement (tests count them). */
  onQuery?: (sql: string) => void;
}

type BodyError = { status?: number; type?: string };

/**
 * Starts one Parley API node: the shared runtime, HTTP and graphql-ws on one
 * server, and (unless PARLEY_WORKER=off) a run worker in the same process.
 */
export async function startParley(config: Config, opts: StartOptions = {}): Promise<ParleyApp> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const runtime = await createRuntime(config, logger, { onQuery: opts.onQuery });
  const stops: (() => Promise<unknown>)[] = [() => runtime.close()];
  const stop = async () => {
    for (const fn of stops.splice(0).reverse()) await fn().catch((err: unknown) => logger.error({ err }, 'shutdown step failed'));
  };
  try {
    const bootstrapAdminKey = await ensureAdmin(runtime.orm.em.fork(), config.adminKey);
    if (config.worker === 'inline') await startWorker(runtime, { recoverOrphans: !config.redisUrl });
    const services = createServices(runtime);
    // PARLEY_GUARDRAILS=off (benchmarks) leaves resolvers unwrapped and operations without a deadline.
    const schema = config.guardrails ? stopOnAbort(await createSchema()) : await createSchema();
    const guard = createQueryGuard(config);
    const timeoutMs = config.guardrails ? config.operationTimeoutMs : undefined;
    const deps = { orm: runtime.orm, services, logger };
    const format = formatError(logger);

    const app = express();
    app.disable('x-powered-by');
    app.set('trust proxy', config.trustProxy);
    const httpServer: Server = createServer(app);
    // A message over the body limit closes its socket with 1009, as HTTP answers 413.
    // With PARLEY_CORS_ORIGINS set, an upgrade from a page on another origin is refused (403).
    const wsServer = new WebSocketServer({
      server: httpServer,
      path: '/graphql',
      maxPayload: config.maxBodyBytes,
      verifyClient: websocketOriginCheck(config.corsOrigins),
    });
    const wsLimits = createWsLimits({ config, rateLimits: services.rateLimits, redis: runtime.redis, logger });
    const httpLimits = createHttpRateLimits(services.rateLimits);
    stops.push(async () => wsLimits.close());
    // A revoked key or removed user (on any node) ends the subscriptions this node serves under it.
    const liveSubscriptions = createLiveSubscriptions();
    const stopListening = services.revocations.listen((r) => {
      const ended = liveSubscriptions.revoke(r);
      if (ended) logger.info({ ...r, subscriptions: ended }, 'ended the subscriptions of a revoked credential');
    });
    stops.push(async () => {
      stopListening();
      await services.revocations.close();
    });
    const wsCleanup = serveGraphqlWs(wsServer, {
      schema,
      deps,
      guard,
      wsLimits,
      live: liveSubscriptions,
      timeoutMs,
      connectionInitWaitTimeout: config.wsInitTimeoutMs,
      format,
      clientIpOf: (request) => upgradeClientIp(request, app.get('trust proxy fn')),
    });

    const apollo = new ApolloServer<Context>({
      schema,
      // Enforced by the guard's validation rules (PARLEY_INTROSPECTION), the same for both transports.
      introspection: true,
      parseOptions: guard.parseOptions,
      validationRules: guard.validationRules,
      // Batched requests (a JSON array body) stay off: one document per request keeps every limit
      // per request. Apollo answers an array with 400 and code BAD_REQUEST (BAD_USER_INPUT for clients).
      allowBatchedHttpRequests: false,
      includeStacktraceInErrorResponses: false,
      // Shutdown is ours (src/process.ts: drain, close sockets and pools, exit). Apollo's own
      // SIGTERM handler (on whenever NODE_ENV is not "test") raced it: our stop() then waited
      // on Apollo's stop barrier forever, and every production shutdown hit the 15 s cut-off.
      stopOnTerminationSignals: false,
      formatError: format,
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer }),
        // No @cacheControl hints are used; the default plugin would still wrap every field resolution.
        ApolloServerPluginCacheControlDisabled(),
        // A browser's GET /graphql is the explorer's (src/server/explorer.ts); Apollo's page loads Sandbox from a CDN.
        ApolloServerPluginLandingPageDisabled(),
        subscriptionsOverWebSocketOnly,
        guard.apolloPlugin,
        httpLimits.plugin,
        deadlinePlugin(timeoutMs),
        operationsPlugin,
        { serverWillStart: async () => ({ drainServer: async () => wsCleanup.dispose() }) },
      ],
    });
    await apollo.start();

    mountHealth(app, { orm: runtime.orm, redis: runtime.redis });
    stops.push(await serveMetrics(config, logger, app));
    app.use((req, res, next) => {
      const id = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
      res.setHeader('x-request-id', id);
      res.locals.requestId = id;
      next();
    });
    const cors = corsMiddleware(config.corsOrigins);
    if (cors) app.use('/graphql', cors);
    if (config.explorer) {
      mountExplorer(app, '/graphql');
      if (!config.introspection) logger.warn('PARLEY_EXPLORER is on and PARLEY_INTROSPECTION off: the explorer runs operations but shows no docs or completion');
    }
    app.use(
      '/graphql',
      express.json({ limit: config.maxBodyBytes }),
      observeHttpOperations(logger),
      httpLimits.shortcut,
      expressMiddleware(apollo, {
        context: async ({ req, res }) =>
          buildContext(deps, req.headers.authorization, res.locals.requestId as string, httpDeadline(res), req.ip),
      }),
    );
    // Body-parser failures (malformed JSON, oversized body) answer in GraphQL's shape, not an HTML page.
    app.use((err: BodyError, _req: express.Request, res: express.Response, next: express.NextFunction) => {
      if (res.headersSent) return next(err);
      const status = err.status ?? 500;
      if (status >= 500) logger.error({ err }, 'http error');
      const client = status < 500;
      res.status(status).json({
        errors: [
          {
            message: err.type === 'entity.too.large' ? 'Request body too large' : client ? 'Malformed request body' : 'Internal server error',
            extensions: { code: client ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR' },
          },
        ],
      });
    });

    await new Promise<void>((ok, fail) => {
      httpServer.once('error', fail);
      httpServer.listen(config.port, config.host, () => ok());
    });
    stops.push(() => apollo.stop());
    const port = (httpServer.address() as AddressInfo).port;
    const url = `http://localhost:${port}/graphql`;
    if (!config.guardrails) logger.warn('PARLEY_GUARDRAILS=off: no query cost, rate, active-run or timeout limits. For benchmarks only, never for a node that faces users');
    logger.info({ url, redis: Boolean(runtime.redis), embeddedPostgres: !config.databaseUrl, worker: config.worker }, 'Parley is listening');
    return { url, port, runtime, services, logger, bootstrapAdminKey, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
