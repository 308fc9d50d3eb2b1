import type { Redis } from 'ioredis';
import type { RunEvent } from './run-event.types';
import type { TailListener } from './run-event-tail';

interface Channel {
  listeners: Set<TailListener>;
  /** Resolves once Redis acknowledged SUBSCRIBE: from then on no publish on it is missed. */
  ready: Promise<void>;
}

/**
 * Live fan-out for one process: a single pub/sub connection, one SUBSCRIBE per
 * run that has local subscribers (ref-counted), each message (one event, or a
 * batch of them) parsed once and handed to every local listener in memory. A
 * hundred subscribers of a run cost one Redis subscription, not a hundred
 * blocking connections.
 *
 * Per-run channels rather than one pattern subscription, so a node only
 * receives (and parses) tokens of runs someone on it is watching.
 */
export class RedisRunChannels {
  private readonly channels = new Map<string, Channel>();
  private sub: Redis | null = null;

  /** `connect` is called on first use: processes that only append never open a pub/sub connection. */
  constructor(private readonly connect: () => Redis) {}

  listen(channel: string, listener: TailListener): { ready: Promise<void>; stop(): void } {
    let entry = this.channels.get(channel);
    if (!entry) {
      const created: Channel = { listeners: new Set(), ready: this.subscribe(channel) };
      // Forget a failed subscription so the next subscriber retries instead of inheriting the failure.
      created.ready.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel);
      });
      this.channels.set(channel, created);
      entry = created;
    }
    entry.listeners.add(listener);
    const own = entry;
    return { ready: own.ready, stop: () => this.release(channel, own, listener) };
  }

  /** Ends every local subscription, then the pub/sub connection. */
  async close(): Promise<void> {
    for (const entry of [...this.channels.values()]) {
      for (const listener of [...entry.listeners]) listener.end();
    }
    this.channels.clear();
    const sub = this.sub;
    this.sub = null;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }

  private connection(): Redis {
    if (!this.sub) {
      const sub = this.connect();
      sub.on('message', (channel: string, message: string) => this.deliver(channel, message));
      sub.on('ready', () => this.onReady());
      // Errors surface through rejected commands; without a listener ioredis would log each reconnect attempt.
      sub.on('error', () => undefined);
      this.sub = sub;
    }
    return this.sub;
  }

  private async subscribe(channel: string): Promise<void> {
    await this.connection().subscribe(channel);
  }

  private release(channel: string, entry: Channel, listener: TailListener): void {
    if (!entry.listeners.delete(listener) || entry.listeners.size > 0) return;
    if (this.channels.get(channel) !== entry) return;
    this.channels.delete(channel);
    // Same connection, so a later SUBSCRIBE to this channel is ordered after this and wins.
    this.sub?.unsubscribe(channel).catch(() => undefined);
  }

  private deliver(channel: string, message: string): void {
    const entry = this.channels.get(channel);
    if (!entry || entry.listeners.size === 0) return;
    let parsed: RunEvent | RunEvent[];
    try {
      parsed = JSON.parse(message) as RunEvent | RunEvent[];
    } catch {
      return; // not ours; the channel name is namespaced, so this is someone else's bug
    }
    // A batch append publishes its events as one array, in seq order.
    if (!Array.isArray(parsed)) {
      for (const listener of entry.listeners) listener.push(parsed);
      return;
    }
    for (const listener of entry.listeners) for (const event of parsed) listener.push(event);
  }

  /**
   * Each time the connection becomes ready — after a reconnect, and also the
   * first time, since a connection that failed before its first ready may have
   * taken SUBSCRIBEs with it — every channel is subscribed again
   * (autoResubscribe is off so we know when it is acknowledged; subscribing
   * twice is harmless) and every listener catches up from the stream, where
   * whatever was published while we were away still is.
   */
  private onReady(): void {
    const sub = this.sub;
    const names = [...this.channels.keys()];
    if (!sub || names.length === 0) return;
    sub.subscribe(...names).then(
      () => {
        for (const name of names) {
          const entry = this.channels.get(name);
          if (entry) for (const listener of entry.listeners) listener.resync();
        }
      },
      () => undefined, // the connection dropped again; the next 'ready' retries
    );
  }
}
