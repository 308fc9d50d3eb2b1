import type { IncomingMessage } from 'node:http';
import cors from 'cors';
import type { RequestHandler } from 'express';
import type { VerifyClientCallbackAsync } from 'ws';

/**
 * Browser apps on other origins (PARLEY_CORS_ORIGINS). Unset, the server
 * sends no CORS header and, as before, accepts WebSockets from any origin.
 *
 * Set, it is an allowlist for both transports. Over HTTP, the browser
 * enforces it: a listed origin gets the preflight answer it needs to send
 * `Authorization` and `content-type: application/json`, any other gets no
 * `Access-Control-Allow-Origin`. Apollo's CSRF prevention stays on: a simple
 * cross-site request (no preflight) is still refused. A WebSocket upgrade gets
 * no such protection from the browser, so the server checks its `Origin`.
 */

/** Headers a browser app may send: credentials, JSON bodies, and the ones Apollo's CSRF check accepts on GETs. */
const ALLOWED_HEADERS = ['authorization', 'content-type', 'apollo-require-preflight', 'x-apollo-operation-name', 'x-request-id'];
/** Headers a browser app may read: the request id to quote in a report, how long a rate limit lasts. */
const EXPOSED_HEADERS = ['x-request-id', 'retry-after'];

/** The CORS middleware for the GraphQL endpoint, or undefined when no origin is listed. */
export function corsMiddleware(origins: readonly string[]): RequestHandler | undefined {
  if (origins.length === 0) return undefined;
  return cors({
    origin: [...origins],
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    // Bearer tokens, not cookies: browsers need no credentialed mode.
    credentials: false,
    maxAge: 600,
  }) as RequestHandler;
}

/**
 * Whether a WebSocket upgrade may proceed: always without an allowlist, and
 * with one when the request has no Origin (not a browser), names a listed
 * origin, or comes from a page of this server itself (the explorer).
 */
export function websocketOriginAllowed(origins: readonly string[], origin: string | undefined, req: IncomingMessage): boolean {
  if (origins.length === 0 || origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false; // "null" (a sandboxed frame, a file: page) and garbage
  }
  return origins.includes(parsed.origin) || (req.headers.host !== undefined && parsed.host === req.headers.host.toLowerCase());
}

/** ws's `verifyClient` for the allowlist: a refused upgrade is answered 403 before any graphql-ws message. */
export function websocketOriginCheck(origins: readonly string[]): VerifyClientCallbackAsync | undefined {
  if (origins.length === 0) return undefined;
  return (info, done) => {
    if (websocketOriginAllowed(origins, info.origin || undefined, info.req)) done(true);
    else done(false, 403, 'Origin not allowed');
  };
}
