import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Publication, StreamPosition, SubscribeResult } from 'sdk-realtime/protocol';
import { newEpoch, type HistoryLimits } from '../history';
import { messageIdFor } from '../idempotency';
import { Fifo } from './fifo';
import { RedisPresence } from './redis-presence';
import { fanOut } from './fanout';
import {
  BrokerUnavailableError,
  IDEMPOTENCY_TTL,
  IdempotencyConflictError,
  type Broker,
  type BrokerFactory,
  type PublishOptions,
  type Delivery, type PublishOutcome, type StreamOffset, type Subscriber } from './types';

/** Options of {@link RedisBroker}. */
export interface RedisBrokerOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Extra ioredis options for both connections (TLS, sentinels, timeouts). */
  redis?: RedisOptions;
  /** Prefix of every key and channel. Default `rt`. Several deployments may share one Redis with different prefixes. */
  prefix?: string;
  /** History per stream; the server passes its own `history` option when it creates the broker. */
  history: HistoryLimits;
  /**
   * URL of the pub/sub connection, when it must differ from `url` (a separate endpoint or proxy).
   * Default `url`.
   */
  subscriberUrl?: string;
  /**
   * A pub/sub connection quiet this long (ms) is probed: the node publishes to its own channel
   * and, if that does not come back within the same time, reconnects it (and reads what it
   * missed from history). Catches a connection that stays up but stopped receiving, as after a
   * failover. Default `30000`.
   */
  probeInterval?: number;
  /**
   * How often streams that saw no message are compared with their top offset in Redis, in ms
   * (default `40000`): catches a lost pub/sub message that no later message would reveal.
   */
  positionCheck?: number;
  /**
   * How long a crashed node's connections stay in online counts, in ms. Default `30000`; each node
   * refreshes its own every third of it, and a graceful stop removes them at once.
   */
  presenceTtl?: number;
  /**
   * How long a stream's epoch and top offset outlive its last publish, in ms. Default 30 days:
   * a client that missed nothing is told `recovered: true` long after the messages aged out.
   */
  metaTtl?: number;
  /** Called when fan-out to a subscriber throws, and for Redis errors not tied to a call. */
  onError?: (error: unknown) => void;
  /** Counters for /metrics. */
  stats?: RedisBrokerStats;
}

/** What the broker counts, for `/metrics`. */
export interface RedisBrokerStats {
  /** Messages read back from history because the live pub/sub feed skipped them. */
  gapsFilled: number;
  /** Skipped messages history no longer had (clients saw a gap). */
  gapsUnfilled: number;
  /** Redis calls that failed. */
  redisErrors: number;
  /** Sum and count of publish round trips, ms (mean latency = sum / count). */
  publishMsSum: number;
  publishCount: number;
  /** Sum and count of pub/sub lag (receive time − publish time), ms. */
  lagMsSum: number;
  lagCount: number;
  /** Messages dropped because an app's fan-out queue was full while history was being read. */
  queueOverflows: number;
  /** Pub/sub connections reconnected because a probe did not come back. */
  probeFailures: number;
}

export const newRedisBrokerStats = (): RedisBrokerStats => ({
  gapsFilled: 0,
  gapsUnfilled: 0,
  redisErrors: 0,
  publishMsSum: 0,
  publishCount: 0,
  lagMsSum: 0,
  lagCount: 0,
  queueOverflows: 0,
  probeFailures: 0,
});

// One stream's append, atomic: the epoch is created if missing, the offset incremented, the entry
// added with the count bound and the stream's inactivity expiry. A new epoch (offset 1) drops any
// stream data left from a lost meta key. With an idempotency key (ARGV[8] = '1'), a stream this key
// already reached answers its first position and changes nothing. Returns {epoch, offset}.
// KEYS: meta, stream, idempotency key of this stream. ARGV: new epoch, id, ts, data, size, ttl ms,
// meta ttl ms, keyed, key ttl ms.
const APPEND = `
if ARGV[8] == '1' then
  local prev = redis.call('GET', KEYS[3])
  if prev then
    local pe, ps = string.match(prev, '^(.*)|(%d+)$')
    return {pe, tonumber(ps)}
  end
end
local e = redis.call('HGET', KEYS[1], 'e')
if not e then
  e = ARGV[1]
  redis.call('HSET', KEYS[1], 'e', e, 's', 0)
end
local s = redis.call('HINCRBY', KEYS[1], 's', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[7])
if s == 1 then redis.call('DEL', KEYS[2]) end
if tonumber(ARGV[5]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], s .. '-1', 'i', ARGV[2], 't', ARGV[3], 'd', ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
if ARGV[8] == '1' then redis.call('SET', KEYS[3], e .. '|' .. s, 'PX', ARGV[9]) end
return {e, s}
`;

// A stream's epoch and top offset and, when the client's epoch matches and the gap is at most the
// replay bound, the entries after its offset. A missing meta is created with a short expiry (so a
// subscriber that comes before the first publish holds the epoch that publish will use) — a read
// never creates history data.
// KEYS: meta, stream. ARGV: new epoch, meta ttl for a read-created meta (ms), client epoch or '',
// client offset, max replay. Returns {epoch, top, entries|false}.
const READ = `
local e = redis.call('HGET', KEYS[1], 'e')
local s = 0
if not e then
  e = ARGV[1]
  redis.call('HSET', KEYS[1], 'e', e, 's', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {e, 0, false}
end
s = tonumber(redis.call('HGET', KEYS[1], 's'))
local from = tonumber(ARGV[4])
if ARGV[3] ~= e or from >= s or s - from > tonumber(ARGV[5]) then return {e, s, false} end
return {e, s, redis.call('XRANGE', KEYS[2], (from + 1) .. '-1', '+', 'COUNT', s - from)}
`;

// The Redis generation: bumped whenever the server's run id changes (a restart, an AOF reload, a
// replica promoted), so every effective epoch changes and no client recovers across a partial loss.
// KEYS: run id, generation. ARGV: the current run id. Returns the generation.
const GENERATION = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1])
  return redis.call('INCR', KEYS[2])
end
return tonumber(redis.call('GET', KEYS[2]) or '0')
`;

// A token bucket as GCRA, on Redis's clock (one clock for every node): `requests` per `per` ms,
// bursts up to `requests`. KEYS: the limit's key. ARGV: emission interval ms, burst tolerance ms.
// Returns ms to wait, 0 when allowed (and counted).
const RATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tonumber(ARGV[2]) - now
if wait > 0 then return math.ceil(wait) end
local nxt = tat + interval
redis.call('SET', KEYS[1], tostring(nxt), 'PX', math.ceil(nxt - now) + 1)
return 0
`;

interface Scripts {
  sdkrtAppend(meta: string, stream: string, keyed: string, ...args: Array<string | number>): Promise<[string, number]>;
  sdkrtRead(meta: string, stream: string, ...args: Array<string | number>): Promise<[string, number, Array<[string, string[]]> | null]>;
  sdkrtGeneration(runId: string, gen: string, current: string): Promise<number>;
  sdkrtRate(key: string, interval: number, tolerance: number): Promise<number>;
}
type Client = Redis & Scripts;

/** A message as it travels on an app's pub/sub channel: one per publish, every stream in it. */
interface WireMessage {
  id: string;
  ts: number;
  /** [stream, effective epoch, offset] per stream, in publish order. */
  s: Array<[string, string, number]>;
  d: unknown;
}

/** Last position fanned out on this node for one stream with local subscribers. */
interface Tracked {
  epoch: string;
  offset: number;
}

/** Local state of one app: its subscribers, what was fanned out, and the ordered delivery queue. */
interface AppFeed {
  streams: Map<string, Set<Subscriber>>;
  tracked: Map<string, Tracked>;
  /** Messages waiting while a gap is filled from history, in arrival order; `null` = catch up every stream (after a pub/sub reconnect, or when idle). */
  queue: Fifo<WireMessage | null>;
  /** When the app's channel last delivered a message here (ms). */
  lastMessageAt: number;
  draining: boolean;
  /** Resolves when the app's channel subscription is live; rejects if SUBSCRIBE failed. */
  live: Promise<void>;
}

/** How long a keyed publish holds its key before it completes, in ms. */
const CLAIM_TTL = 10_000;

/** At most this many messages wait per app while history is read; beyond, the oldest are dropped and clients see the gap. */
const MAX_QUEUED = 10_000;

// Key parts are escaped so no app or stream name can reach into another's keys: the app part has
// no ':' (it ends at the first one) and neither part has a brace (the hash tag ends at the first '}').
const escapeApp = (s: string) => s.replace(/[%:{}]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const escapeStream = (s: string) => s.replace(/[%{}]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

/**
 * Several server processes acting as one on Redis. Per stream: a meta hash (epoch, top offset) and
 * a Redis stream of entries whose ids are the offsets, both hash-tagged `{app:stream}` (one slot,
 * ready for Redis Cluster). Per app: one pub/sub channel carrying each publish once with all its
 * streams, so a connection matched by several targets gets it once on every node.
 *
 * Each node fans out in offset order per stream: a message that skips offsets (a publish from
 * another node overtaking, or pub/sub messages lost across a reconnect) makes it read the missing
 * range from history first; what history no longer has reaches clients as a jump they report as a
 * gap. The effective epoch is `<stream epoch>.<Redis generation>`: a Redis restart or failover bumps
 * the generation, so recovering clients get `recovered: false` instead of a silent skip of reused
 * offsets. See docs/scaling.md.
 */
export class RedisBroker implements Broker {
  private readonly cmd: Client;
  private readonly sub: Redis;
  private readonly prefix: string;
  private readonly metaTtl: number;
  private readonly apps = new Map<string, AppFeed>();
  private readonly channelApps = new Map<string, string>();
  private generation = 0;
  /** Settles when the generation is known for the current Redis connection; calls wait for it. */
  private ready: Promise<void>;
  private commandConnects = 0;
  private subscriberConnects = 0;
  private closed = false;
  private readonly positionCheck: number;
  private readonly probeChannel: string;
  private readonly probeInterval: number;
  private readonly probeTimer: ReturnType<typeof setInterval>;
  /** When the pub/sub connection last received anything (ms). */
  private subscriberHeard = Date.now();
  /** When the pending probe was sent (0: none pending). */
  private probeSent = 0;
  private readonly checkTimer: ReturnType<typeof setInterval>;
  readonly stats: RedisBrokerStats;
  /** Online counts across nodes. */
  readonly presence: RedisPresence;

  constructor(private readonly options: RedisBrokerOptions) {
    const bad = (name: string, what: string) => new TypeError(`sdk-realtime redisBroker: option "${name}" must be ${what}`);
    const url = options.url ?? 'redis://127.0.0.1:6379';
    if (typeof url !== 'string' || !/^rediss?:\/\/./.test(url)) throw bad('url', 'a redis:// or rediss:// URL');
    if (options.prefix !== undefined && (typeof options.prefix !== 'string' || !/^[\w.-]{1,64}$/.test(options.prefix))) {
      throw bad('prefix', '1 to 64 letters, digits, "_", "." or "-"');
    }
    if (options.subscriberUrl !== undefined && (typeof options.subscriberUrl !== 'string' || !/^rediss?:\/\/./.test(options.subscriberUrl))) {
      throw bad('subscriberUrl', 'a redis:// or rediss:// URL');
    }
    for (const name of ['presenceTtl', 'metaTtl', 'positionCheck', 'probeInterval'] as const) {
      const v = options[name];
      const min = name === 'positionCheck' || name === 'probeInterval' ? 100 : 1000;
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= min)) throw bad(name, `an integer number of ms, at least ${min}`);
    }
    // No offline queue: while Redis is unreachable a call fails at once (503 / retryable error)
    // instead of waiting unboundedly in memory.
    const base: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true, ...options.redis };
    this.cmd = new Redis(url, base) as Client;
    this.sub = new Redis(options.subscriberUrl ?? url, { ...base, enableOfflineQueue: true });
    this.prefix = options.prefix ?? 'rt';
    this.metaTtl = options.metaTtl ?? 30 * 24 * 3600_000;
    this.stats = options.stats ?? newRedisBrokerStats();
    this.cmd.defineCommand('sdkrtAppend', { numberOfKeys: 3, lua: APPEND });
    this.cmd.defineCommand('sdkrtRead', { numberOfKeys: 2, lua: READ });
    this.cmd.defineCommand('sdkrtGeneration', { numberOfKeys: 2, lua: GENERATION });
    this.cmd.defineCommand('sdkrtRate', { numberOfKeys: 1, lua: RATE });
    const report = (e: unknown) => {
      this.stats.redisErrors++;
      this.options.onError?.(e);
    };
    this.cmd.on('error', report);
    this.sub.on('error', report);
    this.cmd.on('ready', () => {
      // Reconnected, maybe to a restarted or promoted Redis: no call goes out before the generation is re-read.
      if (this.commandConnects++ === 0) return;
      this.ready = this.readGeneration();
      this.ready.catch(report);
      // Redis may have lost this node's online members (a restart): add them again now.
      void this.ready.then(() => this.presence.refresh(), () => undefined);
    });
    this.sub.on('ready', () => {
      // After a pub/sub reconnect, what was published meanwhile never arrives: read it from history.
      if (this.subscriberConnects++ > 0) for (const [app, feed] of this.apps) this.resync(app, feed);
    });
    this.sub.on('message', (channel: string, raw: string) => this.onMessage(channel, raw));
    const nodeId = randomUUID();
    this.probeChannel = `${this.prefix}:{node}:${nodeId}`;
    this.probeInterval = options.probeInterval ?? 30_000;
    this.probeTimer = setInterval(() => this.probe(), Math.max(50, this.probeInterval / 2));
    this.probeTimer.unref?.();
    const tag = (app: string, topic: string) => `${this.prefix}:{${escapeApp(app)}:${escapeStream(topic)}}`;
    this.positionCheck = options.positionCheck ?? 40_000;
    this.checkTimer = setInterval(() => this.checkIdle(), this.positionCheck);
    this.checkTimer.unref?.();
    this.presence = new RedisPresence(this.cmd, tag, nodeId, options.presenceTtl ?? 30_000, report);
    this.ready = Promise.all([this.cmd.connect(), this.sub.connect().then(() => this.sub.subscribe(this.probeChannel))]).then(() => this.readGeneration());
    // The first connection may fail (Redis not up yet): calls then fail as unavailable, and ioredis
    // keeps reconnecting in the background.
    this.ready.catch(report);
  }

  /** The epoch clients see for a stream: its stored epoch and the Redis generation. */
  private effective(epoch: string): string {
    return `${epoch}.${this.generation}`;
  }

  private async readGeneration(): Promise<void> {
    const info = await this.cmd.info('server');
    const runId = /run_id:(\w+)/.exec(info)?.[1] ?? '';
    this.generation = Number(await this.cmd.sdkrtGeneration(`${this.prefix}:{gen}:runid`, `${this.prefix}:{gen}:n`, runId));
  }

  private keys(app: string, stream: string, idempotencyKey = ''): [meta: string, entries: string, keyed: string] {
    const tag = `${this.prefix}:{${escapeApp(app)}:${escapeStream(stream)}}`;
    return [`${tag}:m`, `${tag}:h`, `${tag}:i:${idempotencyKey}`];
  }

  /** Where a keyed publish's claim and outcome live (the app's slot). */
  private outcomeKey(app: string, key: string): string {
    return `${this.prefix}:{${escapeApp(app)}}:i:${key}`;
  }

  private channel(app: string): string {
    return `${this.prefix}:{${escapeApp(app)}}:p`;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      await this.ready;
      return await run();
    } catch (e) {
      this.stats.redisErrors++;
      throw new BrokerUnavailableError(`redis ${what} failed: ${(e as Error)?.message ?? e}`, { cause: e });
    }
  }

  async publish(app: string, streams: string[], data: unknown, options: PublishOptions = {}): Promise<PublishOutcome> {
    const { key, fingerprint = '' } = options;
    if (key === undefined) return this.append(app, streams, data, randomUUID());
    const outcomeKey = this.outcomeKey(app, key);
    // Claim the key first (briefly: a node that dies mid-publish frees it soon), so one request
    // per key runs at a time across the cluster and another body under the same key is refused.
    const claimed = await this.call('publish', () => this.cmd.set(outcomeKey, JSON.stringify({ f: fingerprint }), 'PX', CLAIM_TTL, 'NX'));
    if (!claimed) return this.settled(outcomeKey, fingerprint);
    try {
      const outcome = await this.append(app, streams, data, messageIdFor(app, key), key);
      await this.call('publish', () => this.cmd.set(outcomeKey, JSON.stringify({ f: fingerprint, o: outcome }), 'PX', IDEMPOTENCY_TTL));
      return outcome;
    } catch (e) {
      // Free the key: the caller's retry runs again, and streams it already reached answer their first position.
      await this.cmd.del(outcomeKey).catch(() => undefined);
      throw e;
    }
  }

  /** The outcome stored under a claimed key, once its first request finished (waits up to ~2 s). */
  private async settled(outcomeKey: string, fingerprint: string): Promise<PublishOutcome> {
    for (let i = 0; i < 40; i++) {
      const raw = await this.call('publish', () => this.cmd.get(outcomeKey));
      if (raw === null) break;
      const stored = JSON.parse(raw) as { f: string; o?: PublishOutcome };
      if (stored.f !== fingerprint) throw new IdempotencyConflictError();
      if (stored.o) return stored.o;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new BrokerUnavailableError('a request with this idempotency key is still in progress');
  }

  private async append(app: string, streams: string[], data: unknown, id: string, key?: string): Promise<PublishOutcome> {
    const ts = Date.now();
    const json = JSON.stringify(data);
    const unique = [...new Set(streams)];
    const { size, ttl } = this.options.history;
    const started = performance.now();
    const positions = await this.call('publish', async () => {
      const pipeline = this.cmd.pipeline() as unknown as Scripts & { exec(): Promise<Array<[Error | null, unknown]> | null> };
      for (const stream of unique) {
        const [meta, entries, keyed] = this.keys(app, stream, key);
        void pipeline.sdkrtAppend(meta, entries, keyed, newEpoch(), id, ts, json, size, ttl, this.metaTtl, key === undefined ? '0' : '1', IDEMPOTENCY_TTL);
      }
      const results = (await pipeline.exec()) ?? [];
      const out: StreamOffset[] = unique.map((stream, i) => {
        const [error, value] = results[i] ?? [new Error('no reply')];
        if (error) throw error;
        const [epoch, offset] = value as [string, number];
        return { stream, epoch: this.effective(epoch), offset: Number(offset) };
      });
      const wire = `{"id":${JSON.stringify(id)},"ts":${ts},"s":${JSON.stringify(out.map((p) => [p.stream, p.epoch, p.offset]))},"d":${json}}`;
      await this.cmd.publish(this.channel(app), wire);
      return out;
    });
    this.stats.publishMsSum += performance.now() - started;
    this.stats.publishCount++;
    const offsets: Record<string, number> = {};
    for (const p of positions) offsets[p.stream] = p.offset;
    return { id, ts, streams: offsets, positions };
  }

  async subscribe(app: string, stream: string, subscriber: Subscriber): Promise<void> {
    let feed = this.apps.get(app);
    if (!feed) {
      const channel = this.channel(app);
      const created: AppFeed = { streams: new Map(), tracked: new Map(), queue: new Fifo(), draining: false, live: Promise.resolve(), lastMessageAt: Date.now() };
      created.live = this.call('subscribe', () => this.sub.subscribe(channel).then(() => undefined));
      this.apps.set(app, (feed = created));
      this.channelApps.set(channel, app);
      created.live.catch(() => {
        // A failed SUBSCRIBE leaves nothing behind: the next subscribe of this app tries again.
        if (this.apps.get(app) === created) this.dropApp(app);
      });
    }
    let subs = feed.streams.get(stream);
    if (!subs) feed.streams.set(stream, (subs = new Set()));
    subs.add(subscriber);
    try {
      await feed.live;
    } catch (e) {
      this.unsubscribe(app, stream, subscriber);
      throw e;
    }
  }

  unsubscribe(app: string, stream: string, subscriber: Subscriber): void {
    const feed = this.apps.get(app);
    const subs = feed?.streams.get(stream);
    if (!feed || !subs || !subs.delete(subscriber) || subs.size > 0) return;
    feed.streams.delete(stream);
    feed.tracked.delete(stream);
    if (feed.streams.size === 0) this.dropApp(app);
  }

  private dropApp(app: string): void {
    const channel = this.channel(app);
    this.apps.delete(app);
    this.channelApps.delete(channel);
    if (!this.closed) this.sub.unsubscribe(channel).catch(() => undefined);
  }

  async history(app: string, stream: string, since?: StreamPosition): Promise<SubscribeResult> {
    const { ttl, maxReplay = Infinity, size } = this.options.history;
    const [meta, entries] = this.keys(app, stream);
    // The client's epoch is `<stream epoch>.<generation>`: from another generation, nothing to read.
    const dot = since?.epoch.lastIndexOf('.') ?? -1;
    const sameGeneration = since !== undefined && dot > 0 && since.epoch.slice(dot + 1) === String(this.generation);
    const clientEpoch = sameGeneration ? since!.epoch.slice(0, dot) : '';
    const replay = Math.min(maxReplay, size);
    const [rawEpoch, rawTop, rows] = await this.call('history', () =>
      this.cmd.sdkrtRead(meta, entries, newEpoch(), ttl, clientEpoch, since?.offset ?? 0, Number.isFinite(replay) ? replay : 2 ** 31),
    );
    const epoch = this.effective(rawEpoch);
    const top = Number(rawTop);
    this.track(app, stream, epoch, top);
    if (!since) return { epoch, offset: top, recovered: true, pubs: [] };
    if (since.epoch !== epoch || since.offset > top) return { epoch, offset: top, recovered: false, pubs: [] };
    if (since.offset === top) return { epoch, offset: top, recovered: true, pubs: [] };
    const pubs = rows ? this.publications(stream, epoch, rows, Date.now() - ttl) : [];
    // Complete means every offset from since + 1 to the top, none aged out: never a partial replay.
    const complete = pubs.length === top - since.offset && pubs[0]?.offset === since.offset + 1;
    return complete ? { epoch, offset: top, recovered: true, pubs } : { epoch, offset: top, recovered: false, pubs: [] };
  }

  async rateLimit(app: string, name: string, { requests, per }: { requests: number; per: number }): Promise<number> {
    const interval = per / requests;
    const key = `${this.prefix}:{${escapeApp(app)}}:rl:${escapeStream(name)}`;
    return Number(await this.call('rate limit', () => this.cmd.sdkrtRate(key, interval, per - interval)));
  }

  health(): { ok: boolean; redis: string; subscriber: string } {
    // ioredis statuses: 'ready' when usable; 'connecting' / 'reconnecting' / 'end' otherwise.
    return { ok: this.cmd.status === 'ready' && this.sub.status === 'ready', redis: this.cmd.status, subscriber: this.sub.status };
  }

  metrics(): Record<string, number> {
    const s = this.stats;
    return {
      sdk_realtime_redis_errors_total: s.redisErrors,
      sdk_realtime_redis_gaps_filled_total: s.gapsFilled,
      sdk_realtime_redis_gaps_unfilled_total: s.gapsUnfilled,
      sdk_realtime_redis_queue_overflows_total: s.queueOverflows,
      sdk_realtime_redis_probe_failures_total: s.probeFailures,
      sdk_realtime_redis_publish_seconds_sum: s.publishMsSum / 1000,
      sdk_realtime_redis_publish_seconds_count: s.publishCount,
      sdk_realtime_redis_pubsub_lag_seconds_sum: s.lagMsSum / 1000,
      sdk_realtime_redis_pubsub_lag_seconds_count: s.lagCount,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.checkTimer);
    clearInterval(this.probeTimer);
    await this.presence.close();
    this.apps.clear();
    this.channelApps.clear();
    await Promise.allSettled([this.cmd.quit(), this.sub.quit()]);
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  /** Entries from XRANGE as publications, skipping any older than `oldest` (Redis expiry is per stream, not per entry). */
  private publications(stream: string, epoch: string, rows: Array<[string, string[]]>, oldest: number): Publication[] {
    const pubs: Publication[] = [];
    for (const [entryId, fields] of rows) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      const ts = Number(f.t);
      if (!(ts > oldest)) continue;
      pubs.push({ topic: stream, id: f.i ?? '', offset: Number.parseInt(entryId, 10), epoch, ts, data: JSON.parse(f.d ?? 'null') });
    }
    return pubs;
  }

  /** Start tracking a stream's position on this node at the top a local subscriber just read. */
  private track(app: string, stream: string, epoch: string, top: number): void {
    const feed = this.apps.get(app);
    if (feed?.streams.has(stream) && !feed.tracked.has(stream)) feed.tracked.set(stream, { epoch, offset: top });
  }

  /** Probe a quiet pub/sub connection; reconnect it when the probe does not come back. */
  private probe(): void {
    if (this.closed || this.sub.status !== 'ready') return;
    const now = Date.now();
    if (this.probeSent) {
      if (now - this.probeSent < this.probeInterval) return;
      this.probeSent = 0;
      this.stats.probeFailures++;
      this.options.onError?.(new Error('redis pub/sub connection receives nothing: reconnecting it'));
      this.sub.disconnect(true);
      return;
    }
    if (now - this.subscriberHeard < this.probeInterval) return;
    this.probeSent = now;
    this.cmd.publish(this.probeChannel, '1').catch(() => (this.probeSent = 0));
  }

  private onMessage(channel: string, raw: string): void {
    this.subscriberHeard = Date.now();
    if (channel === this.probeChannel) {
      this.probeSent = 0;
      return;
    }
    const app = this.channelApps.get(channel);
    const feed = app === undefined ? undefined : this.apps.get(app);
    if (!feed) return;
    let msg: WireMessage;
    try {
      msg = JSON.parse(raw) as WireMessage;
    } catch (e) {
      this.options.onError?.(e);
      return;
    }
    feed.lastMessageAt = Date.now();
    this.stats.lagMsSum += Math.max(0, Date.now() - msg.ts);
    this.stats.lagCount++;
    if (feed.queue.length >= MAX_QUEUED) {
      // Drop the oldest and forget positions: clients see the jump and report a gap.
      feed.queue.shift();
      feed.tracked.clear();
      this.stats.queueOverflows++;
    }
    feed.queue.push(msg);
    if (!feed.draining) void this.drain(app!, feed);
  }

  /** Fan messages out in arrival order, filling skipped offsets from history before the message that skipped them. */
  private async drain(app: string, feed: AppFeed): Promise<void> {
    feed.draining = true;
    try {
      while (feed.queue.length > 0 && this.apps.get(app) === feed) {
        const msg = feed.queue.shift()!;
        if (msg === null) {
          await this.catchUp(app, feed);
          continue;
        }
        const fresh: StreamOffset[] = [];
        for (const [stream, epoch, offset] of msg.s) {
          if (!feed.streams.has(stream)) continue;
          const last = feed.tracked.get(stream);
          if (last && last.epoch === epoch) {
            if (offset <= last.offset) continue; // already fanned out (history or an overtaking publish)
            if (offset > last.offset + 1) await this.fill(app, feed, stream, last, offset - 1);
          }
          feed.tracked.set(stream, { epoch, offset });
          fresh.push({ stream, epoch, offset });
        }
        if (fresh.length === 0) continue;
        const delivery: Delivery = { id: msg.id, ts: msg.ts, data: msg.d, streams: msg.s.map(([stream, epoch, offset]) => ({ stream, epoch, offset })) };
        fanOut(delivery, (s) => feed.streams.get(s), this.options.onError, fresh);
      }
    } finally {
      feed.draining = false;
    }
  }

  /** Deliver `stream`'s messages after `last` up to `upTo` from history, in order, to local subscribers. */
  private async fill(app: string, feed: AppFeed, stream: string, last: Tracked, upTo: number): Promise<void> {
    const [, entries] = this.keys(app, stream);
    let rows: Array<[string, string[]]> = [];
    try {
      rows = (await this.cmd.xrange(entries, `${last.offset + 1}-1`, `${upTo}-1`)) as Array<[string, string[]]>;
    } catch (e) {
      this.stats.redisErrors++;
      this.options.onError?.(e);
    }
    const pubs = this.publications(stream, last.epoch, rows, Date.now() - this.options.history.ttl).filter((p) => p.offset > last.offset);
    if (pubs.length < upTo - last.offset) this.stats.gapsUnfilled += upTo - last.offset - pubs.length;
    for (const p of pubs) {
      this.stats.gapsFilled++;
      last.offset = p.offset;
      const position = { stream, epoch: last.epoch, offset: p.offset };
      fanOut({ id: p.id, ts: p.ts, data: p.data, streams: [position] }, (s) => feed.streams.get(s), this.options.onError);
    }
  }

  /** After a pub/sub reconnect, in the drain loop: what was published meanwhile, from history. */
  private resync(app: string, feed: AppFeed): void {
    feed.queue.push(null);
    if (!feed.draining) void this.drain(app, feed);
  }

  /** Every tracked stream's top in one pipeline; the ones behind it are filled from history. */
  private async catchUp(app: string, feed: AppFeed): Promise<void> {
    const tracked = [...feed.tracked];
    if (tracked.length === 0) return;
    let tops: Array<[Error | null, unknown]> = [];
    try {
      const pipeline = this.cmd.pipeline();
      for (const [stream] of tracked) pipeline.hmget(this.keys(app, stream)[0], 'e', 's');
      tops = (await pipeline.exec()) ?? [];
    } catch (e) {
      this.stats.redisErrors++;
      this.options.onError?.(e);
      return;
    }
    for (const [i, [stream, last]] of tracked.entries()) {
      const [error, value] = tops[i] ?? [null, null];
      const [epoch, top] = (error ? [null, null] : value) as [string | null, string | null];
      // A new epoch (the stream was lost): nothing to replay; the next message shows the change.
      if (epoch && this.effective(epoch) === last.epoch && Number(top) > last.offset && feed.tracked.get(stream) === last) {
        await this.fill(app, feed, stream, last, Number(top));
      }
    }
  }

  /**
   * Streams whose app channel was quiet for a whole interval are compared with their top: a
   * pub/sub message lost with nothing after it (which would reveal the jump) is read from history.
   */
  private checkIdle(): void {
    const quietSince = Date.now() - this.positionCheck;
    for (const [app, feed] of this.apps) {
      if (feed.lastMessageAt <= quietSince && feed.tracked.size > 0 && !feed.draining) {
        feed.lastMessageAt = Date.now();
        this.resync(app, feed);
      }
    }
  }
}

/**
 * The Redis broker for `createServer({ broker: redisBroker({ url }) })`: created by the server
 * with its `history` limits and logger.
 */
export function redisBroker(options: Omit<RedisBrokerOptions, 'history'> & { history?: HistoryLimits } = {}): BrokerFactory {
  return (env) => new RedisBroker({ onError: (e) => env.logger.error('redis broker', e), ...options, history: options.history ?? env.history });
}
