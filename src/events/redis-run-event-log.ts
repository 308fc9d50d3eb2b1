import { Redis } from 'ioredis';
import type { RunEventLog, RunLogHead, SubscribeOptions } from './run-event-log';
import { checkBatch, isTerminal, logClosed, runEnded, type AppendOptions, type RunEvent, type RunEventBody } from './run-event.types';
import { AppendCoalescer, type QueuedAppend } from './append-coalescer';
import { DEFAULT_TAIL_OPTIONS, RunEventTail, type RunEventPage, type TailListener, type TailOptions } from './run-event-tail';
import { RedisRunChannels } from './redis-run-channels';
import { LOST_EPOCH_PREFIX, nextEpoch } from './run-event-continuity';
import { eventLogAppendStarted, eventLogAppended, eventLogRead, eventLogReadStarted } from '../observability/metrics';

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
 * One round trip per batch of appends: seq assignment, storage, retention and
 * the live notification happen in a single script, so no reader can ever see
 * a seq that is not yet stored, and concurrent appenders cannot interleave.
 *
 * KEYS[1] meta hash {seq, epoch, ended}   KEYS[2] stream
 * ARGV[1] channel  ARGV[2] maxLen  ARGV[3] '1' if the last event is terminal
 * ARGV[4] retention ms  ARGV[5] stale-run ms
 * ARGV[6] a fresh epoch, used if this batch (re)creates the log  ARGV[7] '1' if it is the creating append
 * ARGV[8…] one per event, in order: its JSON without the closing brace (seq and epoch are spliced in here)
 *
 * The events get consecutive seqs. A single event is published as its JSON,
 * several as one JSON array of them (readers accept both).
 *
 * A meta hash without an epoch is a log that does not exist (yet, or any
 * more: Redis restarted without persistence, or evicted or expired the key).
 * The creating append starts it; any other append starts it marked lost, and
 * drops whatever is left of the old stream, whose seqs the new one reuses.
 * A meta with a seq but no epoch was written before epochs existed: it keeps
 * its events and gets an epoch. Returns {first seq, epoch}.
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
  if meta[3] or ARGV[7] == '1' then
    epoch = ARGV[6]
  else
    epoch = '${LOST_EPOCH_PREFIX}' .. ARGV[6]
  end
  if not meta[3] then
    redis.call('DEL', KEYS[2])
  end
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
local n = #ARGV - 7
local last = redis.call('HINCRBY', KEYS[1], 'seq', n)
local first = last - n + 1
local tail = ',"epoch":"' .. epoch .. '"}'
local out = {}
for i = 1, n do
  local seq = first + i - 1
  local json = ARGV[7 + i] .. ',"seq":' .. seq .. tail
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'e', json)
  out[i] = json
end
if n == 1 then
  redis.call('PUBLISH', ARGV[1], out[1])
else
  redis.call('PUBLISH', ARGV[1], '[' .. table.concat(out, ',') .. ']')
end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'ended', '1')
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
elseif first == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return {first, epoch}
`;

type AppendScript = (
  meta: string,
  stream: string,
  channel: string,
  maxLen: number,
  terminal: '0' | '1',
  retentionMs: number,
  staleMs: number,
  epoch: string,
  create: '0' | '1',
  ...events: string[]
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
  private readonly coalescer = new AppendCoalescer((runId, batch, events) => this.sendBatch(runId, batch, events));
  private closed = false;

  constructor(private readonly options: RedisRunEventLogOptions) {
    this.tail = options.tail ?? DEFAULT_TAIL_OPTIONS;
    this.retentionMs = Math.max(1, Math.round(options.retentionSeconds * 1000));
    this.staleMs = Math.max(1, Math.round(options.staleSeconds * 1000));
    this.redis = new Redis(options.url, { connectionName: `${options.prefix}run-events` });
    this.redis.on('error', () => undefined); // surfaced through rejected commands
    // defineCommand sends EVALSHA and falls back to EVAL once after a SCRIPT FLUSH or failover.
    this.redis.defineCommand('parleyAppendRunEvents', { numberOfKeys: 2, lua: APPEND_LUA });
    this.appendScript = (this.redis as unknown as Record<'parleyAppendRunEvents', AppendScript>).parleyAppendRunEvents.bind(
      this.redis,
    );
    this.channels = new RedisRunChannels(() =>
      // No ready check: its INFO would race the first SUBSCRIBEs, which ioredis writes while the
      // connection is still being checked; Redis then refuses INFO in subscriber mode and ioredis
      // drops the connection, losing those subscriptions (a burst of subscribers on a fresh node).
      this.redis.duplicate({ connectionName: `${options.prefix}run-events-sub`, autoResubscribe: false, enableReadyCheck: false }),
    );
  }

  // Not async: once per token, and the coalescer's promise is already the answer.
  append(runId: string, body: RunEventBody, options?: AppendOptions): Promise<RunEvent> {
    if (this.closed) return Promise.reject(logClosed());
    return this.coalescer.append(runId, body, options?.create === true);
  }

  async appendBatch(runId: string, bodies: readonly RunEventBody[], options: AppendOptions = {}): Promise<RunEvent[]> {
    if (this.closed) throw logClosed();
    checkBatch(bodies);
    if (bodies.length === 0) return [];
    return this.coalescer.appendBatch(runId, bodies, options.create === true);
  }

  private async sendBatch(runId: string, batch: readonly QueuedAppend[], count: number): Promise<RunEvent[]> {
    const runIdJson = JSON.stringify(runId);
    const heads = new Array<string>(count);
    let n = 0;
    for (const item of batch) {
      // String splicing instead of stringifying a merged object: one fewer allocation per event.
      const envelope = `"runId":${runIdJson},"at":"${item.at}"`;
      for (const body of item.bodies) {
        const head = JSON.stringify(body);
        heads[n++] = head.length > 2 ? `${head.slice(0, -1)},${envelope}` : `{${envelope}`;
      }
    }
    const lastItem = batch[batch.length - 1];
    const terminal = isTerminal(lastItem.bodies[lastItem.bodies.length - 1]);
    let first: number;
    let epoch: string;
    const timed = eventLogAppendStarted(count);
    try {
      [first, epoch] = await this.appendScript(
        this.metaKey(runId),
        this.streamKey(runId),
        this.channelName(runId),
        this.options.maxLen,
        terminal ? '1' : '0',
        this.retentionMs,
        this.staleMs,
        nextEpoch(),
        batch[0].create ? '1' : '0',
        ...heads,
      );
      eventLogAppended(timed);
    } catch (err) {
      if (err instanceof Error && err.message.includes(RUN_ENDED_REPLY)) throw runEnded(runId);
      throw err;
    }
    const events = new Array<RunEvent>(count);
    n = 0;
    for (const item of batch) {
      for (const body of item.bodies) {
        events[n] = { ...body, seq: first + n, runId, at: item.at, epoch } as RunEvent;
        n++;
      }
    }
    return events;
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
    const startedAt = eventLogReadStarted();
    const replies = await this.redis
      .multi()
      .hget(this.metaKey(runId), 'epoch')
      .xrange(this.streamKey(runId), xrangeStart(after), '+', 'COUNT', Math.max(1, Math.floor(limit)))
      .exec();
    eventLogRead(startedAt);
    if (!replies) throw new Error('run event page read was aborted');
    for (const [err] of replies) if (err) throw err;
    const epoch = replies[0][1] as string | null;
    return { events: parseEntries(replies[1][1] as [string, string[]][]), epoch };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Appends already made are sent (or refused) before the connection goes.
    await this.coalescer.drain();
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
