import { EventEmitter } from 'node:events';
import type Redis from 'ioredis';

/**
 * Cancel requests reach whichever process is executing the run: in memory for
 * one node, over one Redis channel when there are several.
 */
export interface RunSignals {
  requestCancel(runId: string): Promise<void>;
  onCancel(runId: string, cb: () => void): () => void;
  close(): Promise<void>;
}

export class MemoryRunSignals implements RunSignals {
  protected readonly emitter = new EventEmitter().setMaxListeners(0);

  async requestCancel(runId: string): Promise<void> {
    this.emitter.emit(runId);
  }

  onCancel(runId: string, cb: () => void): () => void {
    this.emitter.once(runId, cb);
    return () => this.emitter.off(runId, cb);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

export class RedisRunSignals extends MemoryRunSignals {
  private readonly channel: string;

  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    prefix: string,
  ) {
    super();
    this.channel = `${prefix}run-cancel`;
    void this.sub.subscribe(this.channel);
    this.sub.on('message', (channel: string, runId: string) => {
      if (channel === this.channel) this.emitter.emit(runId);
    });
  }

  override async requestCancel(runId: string): Promise<void> {
    await this.pub.publish(this.channel, runId);
  }

  override async close(): Promise<void> {
    await this.sub.unsubscribe(this.channel).catch(() => undefined);
    await super.close();
  }
}
