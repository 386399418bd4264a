import type { Socket } from 'socket.io';
import { ErrorCode, type WireError } from 'sdk-realtime/protocol';
import type { Broker, Delivery, StreamOffset, Subscriber } from '../brokers/types';
import { subscribeRefusal } from '../connection/admission';
import { wireError as err } from '../connection/refusal';
import { textFrame } from '../connection/wire';
import type { Metrics } from '../metrics';
import type { ConnectionContext, ResolvedOptions } from '../options';
import type { CountWatcher, Presence, PresenceMember } from '../presence';
import { TokenBucket } from '../rate-limit';
import { argsOf, topicsOf } from './input';

/** What a bridged socket needs from the server. */
export interface BridgeCore {
  options: ResolvedOptions;
  broker: Broker;
  presence: Presence;
  metrics: Metrics;
}

/**
 * Packets waiting in one socket's engine.io buffer (not yet taken by its transport). Beyond, the
 * client is too slow (a stalled link, a frozen tab): it is disconnected instead of growing server
 * memory, and its socket.io client reconnects.
 */
export const MAX_BUFFERED_PACKETS = 10_000;
/** Events of one socket waiting behind a slow one (an async `canSubscribe`); beyond: `rate_limited`. */
export const MAX_QUEUED_EVENTS = 256;
/** Refused events (over the rate limit) within one rate window, as a multiple of `rateLimit.frames`, that disconnect the socket. */
const ABUSE_FACTOR = 5;
/** Largest delay `setTimeout` honours. */
const MAX_TIMER = 2 ** 31 - 1;

/** Event names the socket.io server refuses to emit: a topic so named gets `dataUpdate` only. */
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

/** socket.io's packet encoder (`io.encoder`): a packet to the strings the engine writes. */
export interface PacketEncoder {
  encode(packet: { type: number; nsp: string; data: unknown[] }): unknown[];
}
/** socket.io-parser's EVENT packet type. */
const EVENT = 2;
/** What the engine client of a socket offers adapters: pre-encoded packets written as they are. */
type EngineClient = { writeToEngine?: (packets: unknown[], opts: WriteOptions) => void };
/** `wsPreEncodedFrame`: the WebSocket frame of the engine.io message, written as is by engine.io's WebSocket transport. */
type WriteOptions = { preEncoded: true; wsPreEncodedFrame?: Buffer[] };
type Encoded = { packets: unknown[]; opts: WriteOptions };

/**
 * Encoded `dataUpdate` (and topic event) packets per delivery, namespace and event, kept as long as
 * the delivery object lives: a broadcast to many sockets is encoded once, as socket.io's own room
 * broadcasts are (the adapter writes pre-encoded packets the same way).
 */
const encodedDeliveries = new WeakMap<Delivery, Map<string, Encoded>>();

/** Per-topic answer of `subscribe`-family acknowledgements. */
export type TopicResult = { ok: true } | { ok: false; error: WireError };
/** What an acknowledgement callback receives. */
export type Answer = { ok: true; results: Record<string, TopicResult> } | { ok: false; error: WireError };

type Topics = (topics: string[]) => Promise<Record<string, TopicResult>>;

/**
 * One socket.io socket as the broker and presence see it: a {@link Subscriber} of its personal
 * streams and subscribed topics (messages become `dataUpdate` events, and events named after the
 * topic), a {@link CountWatcher} of `subscribeCount` topics (`dataUpdate` `{ type: 'count' }` when
 * the number of distinct users changes) and a presence member of its topics. Events are handled in
 * arrival order; a failing handler answers an error and never takes the server down.
 */
export class BridgedSocket implements Subscriber, CountWatcher, PresenceMember {
  readonly id: string;
  private open = true;
  private readonly topics = new Set<string>();
  private readonly personal = new Set<string>();
  /** Watched topics and the user count last sent for each (-1: none yet). */
  private readonly counted = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private readonly bucket: TokenBucket;
  private refusedInWindow = 0;
  private refusedWindowStart = 0;
  private expiryTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: ConnectionContext,
    private readonly core: BridgeCore,
    private readonly onClosed: (s: BridgedSocket) => void,
    private readonly encoder?: PacketEncoder,
    /** Emit messages as topic-named events too (`socketIo.topicEvents`). */
    private readonly topicEvents = true,
  ) {
    this.id = ctx.client;
    const { rateLimit } = core.options;
    this.bucket = new TokenBucket(rateLimit.frames, rateLimit.per);
    core.metrics.connections++;
    socket.on('error', (e: Error) => core.options.logger.warn(`socket.io ${this.id} error: ${e.message}`));
    // `disconnect` once connected; the engine connection closing covers a socket that never got there.
    socket.on('disconnect', this.release);
    socket.conn.once('close', this.release);
    this.on('subscribe', (topics) => this.subscribe(topics));
    this.on('unsubscribe', (topics) => this.unsubscribe(topics));
    this.on('subscribeCount', (topics) => this.watch(topics));
    this.on('unsubscribeCount', (topics) => this.unwatch(topics));
    const exp = ctx.claims.exp;
    if (typeof exp === 'number') this.armExpiry(exp * 1000);
  }

  /** Subscribe the personal streams (user, device); resolves once they are live. */
  async start(): Promise<void> {
    const { broker } = this.core;
    const { app, user, device } = this.ctx;
    const streams = [user !== null ? `user:${user}` : undefined, device !== null ? `device:${device}` : undefined].filter((s): s is string => s !== undefined);
    for (const s of streams) this.personal.add(s);
    await Promise.all(streams.map((s) => broker.subscribe(app, s, this)));
    // Closed meanwhile: cleanup already ran and released them, but a subscribe may have landed after it.
    if (!this.open) for (const s of streams) broker.unsubscribe(app, s, this);
  }

  /** Topics subscribed, watched (for `server.stats()`). */
  stats(): { subscriptions: number; watches: number } {
    return { subscriptions: this.topics.size, watches: this.counted.size };
  }

  /**
   * Close the socket's engine.io connection without a socket.io disconnect packet: its client sees
   * `transport close` and reconnects on its own, with backoff (a disconnect packet would make it
   * stay away). Other namespaces multiplexed on that connection reconnect with it.
   */
  disconnect(): void {
    if (!this.open) return;
    this.socket.conn.close();
  }

  // ------------------------------------------------------------ Subscriber / CountWatcher

  deliver(delivery: Delivery, matched: StreamOffset[]): void {
    if (!this.open) return;
    const buffered = (this.socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0;
    if (buffered >= MAX_BUFFERED_PACKETS) {
      this.core.metrics.error('slow_consumer');
      this.disconnect();
      return;
    }
    this.core.metrics.messagesDelivered++;
    this.send(delivery, 'dataUpdate');
    if (!this.topicEvents) return;
    for (const m of matched) {
      if (this.topics.has(m.stream) && !RESERVED.has(m.stream)) this.send(delivery, m.stream);
    }
  }

  /** Emit `event` with the delivery's data, encoded once per delivery for every socket of the namespace. */
  private send(delivery: Delivery, event: string): void {
    const client = this.socket.client as unknown as EngineClient;
    if (!this.encoder || typeof client.writeToEngine !== 'function') {
      this.socket.emit(event, delivery.data);
      return;
    }
    if (this.socket.conn.readyState !== 'open') return;
    const nsp = this.socket.nsp.name;
    const key = `${nsp}\u0000${event}`;
    let cache = encodedDeliveries.get(delivery);
    let encoded = cache?.get(key);
    if (!encoded) {
      const packets = this.encoder.encode({ type: EVENT, nsp, data: [event, delivery.data] });
      const opts: WriteOptions = { preEncoded: true };
      // "4": engine.io's message packet type. One frame shared by every WebSocket recipient.
      if (packets.length === 1 && typeof packets[0] === 'string') opts.wsPreEncodedFrame = [textFrame('4' + packets[0])];
      encoded = { packets, opts };
      if (!cache) encodedDeliveries.set(delivery, (cache = new Map()));
      cache.set(key, encoded);
    }
    // A fresh options object per write: the engine keeps it with the queued packet.
    client.writeToEngine.call(client, encoded.packets, { ...encoded.opts });
  }

  sendCount(topic: string, users: number): void {
    if (!this.open) return;
    const last = this.counted.get(topic);
    if (last === undefined || last === users) return;
    this.counted.set(topic, users);
    this.socket.emit('dataUpdate', { type: 'count', topic, count: users });
  }

  // ------------------------------------------------------------ events

  /** Handle `event` in arrival order, rate limited; the answer goes to the ack, or an `error` event without one. */
  private on(event: string, run: Topics): void {
    this.socket.on(event, (...args: unknown[]) => {
      if (!this.open) return;
      const { input, ack } = argsOf(args);
      const answer = (a: Answer) => {
        if (!this.open) return;
        if (ack) {
          try {
            ack(a);
          } catch {
            // an ack for a socket that just went away
          }
        } else if (!a.ok) this.socket.emit('error', { event, ...a.error });
        else {
          const failed = Object.entries(a.results).find((r): r is [string, { ok: false; error: WireError }] => !r[1].ok);
          if (failed) this.socket.emit('error', { event, topic: failed[0], ...failed[1].error });
        }
      };
      if (!this.bucket.take()) return this.refuseRate(answer);
      const parsed = topicsOf(event, input, this.core.options.maxSubscriptions);
      if ('error' in parsed) return answer({ ok: false, error: parsed.error });
      if (this.queued >= Math.max(MAX_QUEUED_EVENTS, this.core.options.rateLimit.frames)) {
        return answer({ ok: false, error: { code: ErrorCode.RateLimited, message: 'too many events waiting', retryAfter: 1000 } });
      }
      this.queued++;
      this.chain = this.chain.then(async () => {
        this.queued--;
        if (!this.open) return;
        try {
          answer({ ok: true, results: await run(parsed.topics) });
        } catch (e) {
          this.core.options.logger.error(`socket.io ${this.id}: ${event} failed`, e);
          answer({ ok: false, error: err(ErrorCode.Internal, 'internal server error') });
        }
      });
    });
  }

  private refuseRate(answer: (a: Answer) => void): void {
    const { frames, per } = this.core.options.rateLimit;
    const now = Date.now();
    if (now - this.refusedWindowStart >= per) {
      this.refusedWindowStart = now;
      this.refusedInWindow = 0;
    }
    if (++this.refusedInWindow >= ABUSE_FACTOR * frames) {
      this.core.metrics.error(ErrorCode.RateLimited);
      this.disconnect();
      return;
    }
    answer({ ok: false, error: { code: ErrorCode.RateLimited, message: 'too many events', retryAfter: Math.max(1, this.bucket.retryAfter()) } });
  }

  /** Why a hook threw, as a per-topic result. */
  private internal(what: string, e: unknown): TopicResult {
    this.core.options.logger.error(`socket.io ${this.id}: ${what} failed`, e);
    return { ok: false, error: err(ErrorCode.Internal, 'internal server error') };
  }

  private async subscribe(topics: string[]): Promise<Record<string, TopicResult>> {
    const { broker, presence, options } = this.core;
    const { app, user } = this.ctx;
    const results: Record<string, TopicResult> = Object.create(null);
    const adding: string[] = [];
    for (const topic of topics) {
      if (this.personal.has(topic) || this.topics.has(topic)) {
        results[topic] = { ok: true };
        continue;
      }
      let refused: WireError | undefined;
      try {
        refused = await subscribeRefusal(options, this.ctx, topic, this.topics.size + adding.length);
      } catch (e) {
        results[topic] = this.internal('canSubscribe', e);
        continue;
      }
      if (refused) results[topic] = { ok: false, error: refused };
      else adding.push(topic);
    }
    if (!this.open) return results;
    const settled = await Promise.allSettled(adding.map((t) => broker.subscribe(app, t, this)));
    for (let i = 0; i < adding.length; i++) {
      const topic = adding[i]!;
      const s = settled[i]!;
      if (s.status === 'rejected') {
        broker.unsubscribe(app, topic, this);
        results[topic] = { ok: false, error: { code: ErrorCode.Internal, message: 'service unavailable, retry later', retryAfter: 1000 } };
        continue;
      }
      if (!this.open) {
        broker.unsubscribe(app, topic, this);
        continue;
      }
      this.topics.add(topic);
      presence.join(app, topic, this, user);
      results[topic] = { ok: true };
    }
    return results;
  }

  private async unsubscribe(topics: string[]): Promise<Record<string, TopicResult>> {
    const { broker, presence } = this.core;
    const results: Record<string, TopicResult> = Object.create(null);
    for (const topic of topics) {
      results[topic] = { ok: true };
      if (!this.topics.delete(topic)) continue;
      presence.leave(this.ctx.app, topic, this);
      if (!this.personal.has(topic)) broker.unsubscribe(this.ctx.app, topic, this);
    }
    return results;
  }

  private async watch(topics: string[]): Promise<Record<string, TopicResult>> {
    const { options, presence } = this.core;
    const results: Record<string, TopicResult> = Object.create(null);
    for (const topic of topics) {
      if (this.counted.has(topic)) {
        results[topic] = { ok: true };
        continue;
      }
      try {
        if (!(await options.canSubscribe(this.ctx, topic))) {
          results[topic] = { ok: false, error: err(ErrorCode.Forbidden, `not allowed to watch ${topic}`) };
          continue;
        }
      } catch (e) {
        results[topic] = this.internal('canSubscribe', e);
        continue;
      }
      if (this.counted.size >= options.maxSubscriptions) {
        results[topic] = { ok: false, error: err(ErrorCode.TooManySubscriptions, `at most ${options.maxSubscriptions} watched topics`) };
        continue;
      }
      if (!this.open) break;
      this.counted.set(topic, -1);
      const count = await presence.watch(this.ctx.app, topic, this);
      if (!this.open) {
        presence.unwatch(this.ctx.app, topic, this);
        break;
      }
      results[topic] = { ok: true };
      if (this.counted.get(topic) === -1) this.sendCount(topic, count.users);
    }
    return results;
  }

  private async unwatch(topics: string[]): Promise<Record<string, TopicResult>> {
    const results: Record<string, TopicResult> = Object.create(null);
    for (const topic of topics) {
      results[topic] = { ok: true };
      if (this.counted.delete(topic)) this.core.presence.unwatch(this.ctx.app, topic, this);
    }
    return results;
  }

  // ------------------------------------------------------------ life cycle

  /** At the token's expiry plus `tokenGrace`, the socket is disconnected (its client reconnects and authenticates again). */
  private armExpiry(at: number): void {
    const delay = at + this.core.options.tokenGrace - Date.now();
    if (delay > MAX_TIMER) {
      this.expiryTimer = setTimeout(() => this.armExpiry(at), MAX_TIMER);
      return;
    }
    this.expiryTimer = setTimeout(() => {
      if (!this.open) return;
      this.socket.emit('error', { code: ErrorCode.TokenExpired, message: 'token expired' });
      this.disconnect();
    }, Math.max(0, delay));
  }

  /** The socket is gone: release every subscription, watch and timer. Idempotent. */
  readonly release = (): void => {
    if (!this.open) return;
    this.open = false;
    this.socket.conn.off('close', this.release);
    clearTimeout(this.expiryTimer);
    const { broker, presence, metrics } = this.core;
    const { app } = this.ctx;
    for (const t of this.topics) {
      presence.leave(app, t, this);
      broker.unsubscribe(app, t, this);
    }
    for (const s of this.personal) broker.unsubscribe(app, s, this);
    for (const t of this.counted.keys()) presence.unwatch(app, t, this);
    this.topics.clear();
    this.personal.clear();
    this.counted.clear();
    metrics.connections--;
    this.onClosed(this);
  };
}
