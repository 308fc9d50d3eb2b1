import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { GraphQLFormattedError } from 'graphql';
import Redis from 'ioredis';
import type { Config } from '../config';
import { createLogger, type Logger } from '../logger';
import { ensureDatabase, initOrm, migrate, type MikroORM } from '../db/orm';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded';
import { EventBus } from '../events/event-bus';
import { ensureAdmin } from '../modules/users/user.service';
import { createSchema } from './schema';
import { createServices, type Services } from './services';
import { buildContext } from './context-factory';
import { formatError, unauthenticated } from './errors';
import { mountHealth } from './health';
import type { Context } from './context';
import { createCatalog } from './catalog';

export interface ParleyApp {
  url: string;
  port: number;
  orm: MikroORM;
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

/**
 * Starts one Parley API node: database (embedded or DATABASE_URL), migrations,
 * Redis connections when configured, HTTP and graphql-ws on one server.
 */
export async function startParley(config: Config, opts: StartOptions = {}): Promise<ParleyApp> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const cleanups: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const fn of cleanups.reverse()) {
      await fn().catch((err: unknown) => logger.error({ err }, 'error during shutdown'));
    }
    cleanups.length = 0;
  };

  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const embedded: EmbeddedDatabase = await startEmbeddedPostgres(config.dataDir, logger);
      cleanups.push(() => embedded.stop());
      databaseUrl = embedded.url;
    } else {
      await ensureDatabase(databaseUrl);
    }
    const orm = await initOrm({ clientUrl: databaseUrl, onQuery: opts.onQuery });
    cleanups.push(() => orm.close(true));
    const applied = await migrate(orm);
    if (applied.length) logger.info({ migrations: applied }, 'applied migrations');
    const bootstrapAdminKey = await ensureAdmin(orm.em.fork(), config.adminKey);

    let redis: Redis | undefined;
    let redisSub: Redis | undefined;
    if (config.redisUrl) {
      redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
      redisSub = new Redis(config.redisUrl, { lazyConnect: true });
      await Promise.all([redis.connect(), redisSub.connect()]);
      cleanups.push(async () => {
        redis!.disconnect();
        redisSub!.disconnect();
      });
    }
    const bus = new EventBus(config.redisPrefix, redis && redisSub ? { publish: redis, subscribe: redisSub } : undefined);
    const services = createServices({ bus, catalog: createCatalog(), jwtSecret: config.jwtSecret });
    const schema = await createSchema();
    const deps = { orm, services, logger };

    const app = express();
    app.disable('x-powered-by');
    const httpServer: Server = createServer(app);
    const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
    const format = formatError(logger);
    const wsCleanup = useServer(
      {
        schema,
        onConnect: async (ctx) => {
          const auth = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
          const probe = await buildContext(deps, typeof auth === 'string' ? auth : undefined);
          if (!probe.viewer) return false; // graphql-ws closes with 4403 Forbidden
          (ctx.extra as Record<string, unknown>).authorization = auth;
          return true;
        },
        context: (ctx) => buildContext(deps, (ctx.extra as { authorization?: string }).authorization),
        onNext: (_ctx, _id, _payload, _args, result) =>
          result.errors ? { ...result, errors: result.errors.map((e) => format(e, e)) } : undefined,
        onError: (_ctx, _id, _payload, errors) => errors.map((e): GraphQLFormattedError => format(e, e)),
      },
      wsServer,
    );

    const apollo = new ApolloServer<Context>({
      schema,
      introspection: true,
      includeStacktraceInErrorResponses: false,
      formatError: format,
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer }),
        { serverWillStart: async () => ({ drainServer: async () => wsCleanup.dispose() }) },
      ],
    });
    await apollo.start();

    const router = express.Router();
    mountHealth(router, { orm, redis });
    app.use(router);
    app.use((req, res, next) => {
      const id = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
      res.setHeader('x-request-id', id);
      (req as unknown as { requestId: string }).requestId = id;
      next();
    });
    app.use(
      '/graphql',
      express.json({ limit: '5mb' }),
      expressMiddleware(apollo, {
        context: async ({ req }) =>
          buildContext(deps, req.headers.authorization, (req as unknown as { requestId: string }).requestId),
      }),
    );

    // Body-parser failures (malformed JSON, oversized body) answer in GraphQL's shape, not an HTML page.
    app.use((err: { status?: number; type?: string }, _req: express.Request, res: express.Response, next: express.NextFunction) => {
      if (res.headersSent) return next(err);
      const tooLarge = err.type === 'entity.too.large';
      if (!err.status || err.status >= 500) logger.error({ err }, 'http error');
      res.status(tooLarge ? 413 : (err.status ?? 500) < 500 ? (err.status ?? 400) : 500).json({
        errors: [
          {
            message: tooLarge ? 'Request body too large' : (err.status ?? 500) < 500 ? 'Malformed request body' : 'Internal server error',
            extensions: { code: (err.status ?? 500) < 500 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR' },
          },
        ],
      });
    });

    await new Promise<void>((ok, fail) => {
      httpServer.once('error', fail);
      httpServer.listen(config.port, config.host, () => ok());
    });
    cleanups.push(() => apollo.stop());
    const port = (httpServer.address() as AddressInfo).port;
    const url = `http://localhost:${port}/graphql`;
    logger.info({ url, redis: Boolean(redis), embeddedPostgres: !config.databaseUrl }, 'Parley is listening');
    return { url, port, orm, services, logger, bootstrapAdminKey, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
