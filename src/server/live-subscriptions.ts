import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { Revocation } from '../modules/users/revocations';
import type { Context, Viewer } from './context';
import { unauthenticated, type AppError } from './errors';

/** How long a revocation is remembered for subscriptions still being set up when it arrived. */
const REMEMBER_MS = 60_000;
const REMEMBER_MAX = 10_000;

interface Live {
  viewer: Viewer;
  end(err: AppError): void;
}

/**
 * The credential a graphql-ws socket authenticated with at connection_init,
 * which its operations reuse instead of authenticating again: once that
 * credential is revoked, `revoked` says why and the socket's later
 * operations are refused with it.
 */
export interface SocketCredential {
  readonly viewer: Viewer;
  revoked?: AppError;
}

type Stream = AsyncIterableIterator<ExecutionResult>;

/**
 * The subscriptions this node serves, by the user and API key that opened
 * them, so that a revoked key or a removed user ends them: each one's stream
 * throws UNAUTHENTICATED, which graphql-ws sends as an `error` message for
 * that operation only; the source behind it is released at once. The
 * sockets authenticated with it stay open, and refuse whatever they are
 * asked next with the same error.
 */
export function createLiveSubscriptions() {
  const byCredential = new Map<string, Set<Live>>();
  const socketsByCredential = new Map<string, Set<SocketCredential>>();
  /** Revoked credentials by when they were revoked: a subscription authorized just before is ended on arrival. */
  const recent = new Map<string, number>();
  const keysOf = (viewer: Viewer) => [`user:${viewer.id}`, ...(viewer.apiKeyId ? [`apiKey:${viewer.apiKeyId}`] : [])];
  const keyOf = (r: Revocation) => (r.apiKeyId ? `apiKey:${r.apiKeyId}` : `user:${r.userId}`);
  const why = (r: Revocation) => unauthenticated(r.apiKeyId ? 'This API key was revoked' : 'This user was removed');

  function revokedRecently(viewer: Viewer): AppError | undefined {
    const now = Date.now();
    for (const key of keysOf(viewer)) {
      const at = recent.get(key);
      if (at !== undefined && now - at < REMEMBER_MS) return unauthenticated(key.startsWith('apiKey:') ? 'This API key was revoked' : 'This user was removed');
    }
    return undefined;
  }

  function track<R extends Stream | ExecutionResult>(args: ExecutionArgs, result: R): R | Stream {
    const viewer = (args.contextValue as Context | undefined)?.viewer;
    // A subscription refused at set-up is an ExecutionResult: nothing to end.
    if (!viewer || !(Symbol.asyncIterator in Object(result))) return result;
    const stream = result as Stream;
    let failure: AppError | undefined;
    let wake: ((err: AppError) => void) | undefined;
    const live: Live = {
      viewer,
      end(err) {
        if (failure) return;
        failure = err;
        forget();
        void stream.return?.();
        wake?.(err);
      },
    };
    const keys = keysOf(viewer);
    const forget = () => {
      for (const key of keys) {
        const set = byCredential.get(key);
        set?.delete(live);
        if (set?.size === 0) byCredential.delete(key);
      }
    };
    for (const key of keys) {
      let set = byCredential.get(key);
      if (!set) byCredential.set(key, (set = new Set()));
      set.add(live);
    }
    const early = revokedRecently(viewer);
    if (early) live.end(early);

    const done = { done: true as const, value: undefined };
    const tracked: Stream = {
      [Symbol.asyncIterator]: () => tracked,
      async next() {
        if (failure) throw failure;
        const ended = new Promise<never>((_, reject) => (wake = reject));
        ended.catch(() => undefined);
        // graphql-ws reads with `for await`, which calls neither return() nor throw() when the stream
        // ends by itself (a run's terminal event) or fails: the entry is dropped here then.
        try {
          const result = await Promise.race([stream.next(), ended]);
          if (result.done) forget();
          return result;
        } catch (err) {
          forget();
          throw err;
        } finally {
          wake = undefined;
        }
      },
      async return() {
        forget();
        await stream.return?.();
        return done;
      },
      async throw(err: unknown) {
        forget();
        await stream.return?.();
        throw err;
      },
    };
    return tracked;
  }

  return {
    /** Wraps a subscription's stream (from graphql-ws `subscribe`) so a revocation can end it. */
    track,

    /** From graphql-ws `onConnect`, once the socket's viewer is known; `disconnected` when it closes. */
    connected(viewer: Viewer): SocketCredential {
      const socket: SocketCredential = { viewer, revoked: revokedRecently(viewer) };
      for (const key of keysOf(viewer)) {
        let set = socketsByCredential.get(key);
        if (!set) socketsByCredential.set(key, (set = new Set()));
        set.add(socket);
      }
      return socket;
    },

    disconnected(socket: SocketCredential): void {
      for (const key of keysOf(socket.viewer)) {
        const set = socketsByCredential.get(key);
        set?.delete(socket);
        if (set?.size === 0) socketsByCredential.delete(key);
      }
    },

    /** Ends every subscription opened with the revoked credential; the count is for logs. */
    revoke(revocation: Revocation): number {
      const key = keyOf(revocation);
      if (recent.size >= REMEMBER_MAX) recent.delete(recent.keys().next().value as string);
      recent.delete(key);
      recent.set(key, Date.now());
      const err = why(revocation);
      for (const socket of socketsByCredential.get(key) ?? []) socket.revoked ??= err;
      const lives = [...(byCredential.get(key) ?? [])];
      for (const live of lives) live.end(err);
      return lives.length;
    },
  };
}

export type LiveSubscriptions = ReturnType<typeof createLiveSubscriptions>;
