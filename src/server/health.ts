import type { Express, Request, Response } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type Redis from 'ioredis';

/** Liveness says the process answers; readiness says its dependencies do. */
export function mountHealth(router: Express, deps: { orm: MikroORM; redis?: Redis }): void {
  router.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
  });

  router.get('/readyz', async (_req: Request, res: Response) => {
    const checks: Record<string, string> = {};
    const probe = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await Promise.race([fn(), new Promise((_, fail) => setTimeout(() => fail(new Error('timeout')), 2000).unref())]);
        checks[name] = 'ok';
      } catch {
        checks[name] = 'unavailable';
      }
    };
    await Promise.all([
      probe('postgres', () => deps.orm.em.getConnection().execute('select 1')),
      deps.redis ? probe('redis', () => deps.redis!.ping()) : Promise.resolve((checks.redis = 'disabled')),
    ]);
    const ready = Object.values(checks).every((v) => v !== 'unavailable');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
}
