import { Redis } from 'ioredis';
import type { RunEventLog, RunLogHead, SubscribeOptions } from './run-event-log';
import { isTerminal, logClosed, runEnded, type AppendOptions, type RunEvent, type RunEventBody } from './run-event.types';
import { DEFAULT_TAIL_OPTIONS, RunEventTail, type RunEventPage, type TailListener, type TailOptions } from './run-event-tail';
import { RedisRunChannels } from './redis-run-channels';
import { LOST_EPOCH_PREFIX, nextEpoch } from './run-event-continuity';

export interface RedisRunEventLogOptions {
  url: string;
  prefix: string;
  retentionSeconds: number;
  maxLen: number;
  staleSeconds: number;
  tail?: TailOptions;
}

const RUN_ENDED_REPLY = 'PARLEY_RUN_ENDED';

/**
 * One round trip per append: seq assignment, storage, retention and the live
 * notification happen in a single script, so no reader can ever see a seq
 * that is not yet stored, and concurrent appenders cannot interleave.
 *
 * KEYS[1] meta hash {seq, epoch, ended}   KEYS[2] stream
 * ARGV[1] event JSON without its closing brace (seq and epoch are spliced in here)
 * ARGV[2] channel  ARGV[3] maxLen  ARGV[4] '1' if terminal
 * ARGV[5] retention ms  ARGV[6] stale-run ms
 * ARGV[7] a fresh epoch, used if this append (re)creates the log  ARGV[8] '1' if it is the creating append
 *
 * A meta hash without an epoch is a log that does not exist (yet, or any
 * more: Redis restarted without persistence, or evicted or expired the key).
 * The creating append starts it; any other append starts it marked lost, and
 * drops whatever is left of the old stream, whose seqs the new one reuses.
 * A meta with a seq but no epoch was written before epochs existed: it keeps
 * its events and gets an epoch. Returns {seq, epoch}.
 *
 * The stream id is `<seq>-0`, so `XRANGE key <after+1> +` reads after a seq
 * directly. The envelope fields come last in the JSON so that a body smuggling
 * its own `seq` loses on parse (JSON.parse keeps the last duplicate key).
 */
const APPEND_LUA = `
local meta = redis.call('HMGET', KEYS[1], 'ended', 'epoch', 'seq')
if meta[1] then
  return redis.error_reply('${RUN_ENDED_REPLY}')
end
local epoch = meta[2]
if not epoch then
  if meta[3] or ARGV[8] == '1' then
    epoch = ARGV[7]
  else
    epoch = '${LOST_EPOCH_PREFIX}' .. ARGV[7]
  end
  if not meta[3] then
    redis.call('DEL', KEYS[2])
  end
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local json = ARGV[1] .. ',"seq":' .. seq .. ',"epoch":"' .. epoch .. '"}'
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'e', json)
redis.call('PUBLISH', ARGV[2], json)
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'ended', '1')
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
elseif seq == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return {seq, epoch}
`;

type AppendScript = (
  meta: string,
  stream: string,
  json: string,
  channel: string,
  maxLen: number,
  terminal: '0' | '1',
  retentionMs: number,
  staleMs: number,
  epoch: string,
  create: '0' | '1',
) => Promise<[number, string]>;

const xrangeStart = (after: number): string => String(Math.max(0, Math.floor(after)) + 1);

function parseEntries(entries: [string, string[]][]): RunEvent[] {
  const events = new Array<RunEvent>(entries.length);
  for (let i = 0; i < entries.length; i++) events[i] = JSON.parse(entries[i][1][1]) as RunEvent;
  return events;
}

/**
 * Run event log over Redis Streams, for multi-node deployments: any API node
 * can replay and tail any run. Keys put the run id in a hash tag
 * (`{runId}`) so a run's stream and meta share a Cluster slot, which the
 * multi-key append script requires.
 */
export class RedisRunEventLog implements RunEventLog {
  private readonly redis: Redis;
  private readonly appendScript: AppendScript;
  private readonly channels: RedisRunChannels;
  private readonly tail: TailOptions;
  private readonly retentionMs: number;
  private readonly staleMs: number;
  private closed = false;

  constructor(private readonly options: RedisRunEventLogOptions) {
    this.tail = options.tail ?? DEFAULT_TAIL_OPTIONS;
    this.retentionMs = Math.max(1, Math.round(options.retentionSeconds * 1000));
    this.staleMs = Math.max(1, Math.round(options.staleSeconds * 1000));
    this.redis = new Redis(options.url, { connectionName: `${options.prefix}run-events` });
    this.redis.on('error', () => undefined); // surfaced through rejected commands
    // defineCommand sends EVALSHA and falls back to EVAL once after a SCRIPT FLUSH or failover.
    this.redis.defineCommand('parleyAppendRunEvent', { numberOfKeys: 2, lua: APPEND_LUA });
    this.appendScript = (this.redis as unknown as Record<'parleyAppendRunEvent', AppendScript>).parleyAppendRunEvent.bind(
      this.redis,
    );
    this.channels = new RedisRunChannels(() =>
      // No ready check: its INFO would race the first SUBSCRIBEs, which ioredis writes while the
      // connection is still being checked; Redis then refuses INFO in subscriber mode and ioredis
      // drops the connection, losing those subscriptions (a burst of subscribers on a fresh node).
      this.redis.duplicate({ connectionName: `${options.prefix}run-events-sub`, autoResubscribe: false, enableReadyCheck: false }),
    );
  }

  async append(runId: string, body: RunEventBody, options: AppendOptions = {}): Promise<RunEvent> {
    if (this.closed) throw logClosed();
    const at = new Date().toISOString();
    const head = JSON.stringify(body);
    // String splicing instead of stringifying a merged object: one fewer allocation per token.
    const json = `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"runId":${JSON.stringify(runId)},"at":"${at}"`;
    const terminal = isTerminal(body);
    let seq: number;
    let epoch: string;
    try {
      [seq, epoch] = await this.appendScript(
        this.metaKey(runId),
        this.streamKey(runId),
        json,
        this.channelName(runId),
        this.options.maxLen,
        terminal ? '1' : '0',
        this.retentionMs,
        this.staleMs,
        nextEpoch(),
        options.create ? '1' : '0',
      );
    } catch (err) {
      if (err instanceof Error && err.message.includes(RUN_ENDED_REPLY)) throw runEnded(runId);
      throw err;
    }
    return { ...body, seq, runId, at, epoch } as RunEvent;
  }

  async read(runId: string, after: number, limit?: number): Promise<RunEvent[]> {
    if (limit !== undefined && limit <= 0) return [];
    const key = this.streamKey(runId);
    const entries =
      limit === undefined
        ? await this.redis.xrange(key, xrangeStart(after), '+')
        : await this.redis.xrange(key, xrangeStart(after), '+', 'COUNT', Math.floor(limit));
    return parseEntries(entries);
  }

  subscribe(runId: string, after: number, signal?: AbortSignal, options?: SubscribeOptions): AsyncIterable<RunEvent> {
    if (this.closed) throw logClosed();
    return new RunEventTail(this, runId, after, this.tail, signal, options);
  }

  async lastSeq(runId: string): Promise<number> {
    return (await this.head(runId)).seq;
  }

  async head(runId: string): Promise<RunLogHead> {
    const [seq, epoch] = await this.redis.hmget(this.metaKey(runId), 'seq', 'epoch');
    return { seq: seq === null ? 0 : Number(seq), epoch };
  }

  /** @internal The tail's store read: events and the log's epoch in one atomic round trip. */
  async page(runId: string, after: number, limit: number): Promise<RunEventPage> {
    const replies = await this.redis
      .multi()
      .hget(this.metaKey(runId), 'epoch')
      .xrange(this.streamKey(runId), xrangeStart(after), '+', 'COUNT', Math.max(1, Math.floor(limit)))
      .exec();
    if (!replies) throw new Error('run event page read was aborted');
    for (const [err] of replies) if (err) throw err;
    const epoch = replies[0][1] as string | null;
    return { events: parseEntries(replies[1][1] as [string, string[]][]), epoch };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.channels.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** @internal The tail's live feed. */
  listen(runId: string, listener: TailListener): { ready: Promise<void>; stop(): void } {
    if (this.closed) return { ready: Promise.reject(logClosed()), stop: () => undefined };
    return this.channels.listen(this.channelName(runId), listener);
  }

  /** Exposed for operational tooling and tests (TTL checks, cleanup). */
  streamKey(runId: string): string {
    return `${this.options.prefix}run:{${runId}}:events`;
  }

  metaKey(runId: string): string {
    return `${this.options.prefix}run:{${runId}}:meta`;
  }

  channelName(runId: string): string {
    return `${this.options.prefix}run:{${runId}}:live`;
  }
}
