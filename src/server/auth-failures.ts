import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logger';
import { AppError, ErrorCode } from './errors';
import type { RateLimits } from './rate-limit';

/**
 * Failed authentications per client address, drawn from the shared
 * `authFailures` limit (PARLEY_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE, across
 * nodes through Redis). Past it the address is refused (RATE_LIMITED) until
 * its window ends, whatever token it sends: a guesser learns nothing more.
 * Successful authentications cost nothing; each node remembers a refused
 * address itself, so while it is refused its requests cost no database or
 * Redis round trip. Every failure is logged (warn), without the token.
 */
export class AuthFailures {
  private readonly blocked = new Map<string, { until: number; err: AppError }>();

  constructor(private readonly limits: RateLimits) {}

  /** The refusal for an address still inside a refused window, if any. */
  refusal(ip: string | undefined): AppError | undefined {
    if (!ip) return undefined;
    const block = this.blocked.get(ip);
    if (!block) return undefined;
    if (block.until > Date.now()) return block.err;
    this.blocked.delete(ip);
    return undefined;
  }

  /** Counts a failure; answers what the client hears: the failure itself, or RATE_LIMITED past the limit. */
  async failed(ip: string | undefined, err: AppError, logger: Logger): Promise<AppError> {
    const key = ip ?? 'unknown';
    try {
      await this.limits.consume([{ limit: 'authFailures', scope: 'ip', key }]);
    } catch (refused) {
      if (!(refused instanceof AppError) || refused.code !== ErrorCode.RATE_LIMITED) {
        logger.warn({ err: refused, ip: key }, 'failed authentications could not be counted');
        return err;
      }
      const retryAfterMs = Number(refused.details.retryAfterMs ?? 1_000);
      if (this.blocked.size > 100_000) this.blocked.clear();
      this.blocked.set(key, { until: Date.now() + retryAfterMs, err: refused });
      logger.warn({ ip: key, reason: err.message, retryAfterMs }, 'authentication failed; address refused for too many failures');
      return refused;
    }
    logger.warn({ ip: key, reason: err.message }, 'authentication failed');
    return err;
  }
}

/**
 * The client's address for a WebSocket upgrade, as express computes `req.ip`
 * for HTTP under the same `trust proxy` setting: walk X-Forwarded-For from the
 * socket's peer while each hop is trusted.
 */
export function upgradeClientIp(req: IncomingMessage | undefined, trust: ((addr: string, hop: number) => boolean) | undefined): string | undefined {
  const peer = req?.socket.remoteAddress;
  if (!req || !peer || !trust) return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .reverse();
  const hops = [peer, ...forwarded];
  let i = 0;
  while (i < hops.length - 1 && trust(hops[i], i)) i++;
  return hops[i];
}
