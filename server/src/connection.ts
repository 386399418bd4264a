import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import {
  CloseCode,
  ErrorCode,
  decodeClientFrame,
  type ClientFrame,
  type ConnectFrame,
  type ConnectResult,
  type PublishFrame,
  type PublishResult,
  type RefreshFrame,
  type ServerFrame,
  type RequestFrame,
  type StreamPosition,
  type SubscribeFrame,
  type SubscribeManyFrame,
  type SubscribeResult,
  type WatchFrame,
  type WireError,
} from 'sdk-realtime/protocol';
import type { TokenAuthority } from './auth';
import { BrokerUnavailableError, IdempotencyConflictError, type Broker, type Delivery, type PublishOptions, type StreamOffset, type Subscriber } from './brokers/types';
import { subscribeRefusal } from './connection/admission';
import { StreamAttacher } from './connection/attach';
import { inputProblem } from './connection/input';
import { Outbound } from './connection/outbound';
import { Refusal, wireError as err } from './connection/refusal';
import { authenticate, verifyRefresh } from './connection/session';
import { RpcError } from './errors';
import { fingerprintOf } from './idempotency';
import type { Metrics } from './metrics';
import type { ConnectionContext, ResolvedOptions } from './options';
import type { CountWatcher, Presence } from './presence';
import { PayloadTooLargeError, type PublishReceipt, type PublishTarget } from './publish';
import { TokenBucket } from './rate-limit';
import { FLAGS_TOPIC, type FlagsLive } from './flags/live';

export { MAX_NAME_LENGTH } from './connection/input';

/** What a connection needs from the server it belongs to. */
export interface ServerCore {
  options: ResolvedOptions;
  broker: Broker;
  presence: Presence;
  metrics: Metrics;
  auth: TokenAuthority;
  /** Feature flags, when enabled: the `$flags` stream (flags/live.ts). */
  flags?: FlagsLive;
  publish(app: string, target: PublishTarget, options?: PublishOptions): Promise<PublishReceipt>;
}

/** Refusing this many times the frame limit within one rate window closes the connection (4002). */
const ABUSE_FACTOR = 5;
/** WebSocket close code 1011 ("internal error"): `connect` failed on the server's side; reconnect with backoff. */
const INTERNAL_ERROR = 1011;
/** Largest delay `setTimeout` honours. */
const MAX_TIMER = 2 ** 31 - 1;
/** A peer that does not answer our close frame within this is cut (ws would wait 30 s). */
export const CLOSE_GRACE_MS = 1000;
/**
 * Frames waiting behind a slow one (e.g. an async `canSubscribe`): at most this many, or one rate
 * window's worth (`rateLimit.frames`) when that is more; beyond: `rate_limited`.
 */
export const MAX_QUEUED_FRAMES = 256;
/** RPC calls of one connection running at once; beyond: `rate_limited`. */
export const MAX_PENDING_RPCS = 64;

type State = 'handshake' | 'connecting' | 'open' | 'closed';

/** Frames handled after `connect`, by type. */
type Handlers = {
  [T in Exclude<ClientFrame['t'], 'connect' | 'ping' | 'pong'>]: (frame: Extract<ClientFrame, { t: T }>, ctx: ConnectionContext) => Promise<void> | void;
};

/**
 * One client WebSocket: the handshake, then frames handled in arrival order (one handler per
 * type), subscriptions (joined to history by {@link StreamAttacher}), presence, token expiry,
 * pings and limits. Identity checks live in connection/session.ts, input checks in
 * connection/input.ts, writing in connection/outbound.ts. Every handler is wrapped: a failure is
 * answered with an error and never takes the connection (or the server) down.
 */
export class Connection implements Subscriber, CountWatcher {
  readonly id = randomUUID();
  private state: State = 'handshake';
  private ctx: ConnectionContext | undefined;
  /** Topics subscribed with `sub` (personal streams are tracked in `personal`). */
  private readonly topics = new Set<string>();
  private readonly personal = new Set<string>();
  private readonly watched = new Set<string>();
  /**
   * Topics this connection published to (created lazily). A publish may create a stream's history,
   * so one connection may publish to at most `maxSubscriptions` distinct topics.
   */
  private published?: Set<string>;
  /** Frames are handled one after another so replies keep the order of requests. */
  private chain: Promise<void> = Promise.resolve();
  /** Frames appended to `chain` and not yet handled. */
  private queued = 0;
  private pendingRpcs = 0;
  private readonly bucket: TokenBucket;
  private refusedInWindow = 0;
  private refusedWindowStart = 0;
  private lastSeen = Date.now();
  private handshakeTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private expiryTimer?: ReturnType<typeof setTimeout>;
  private graceTimer?: ReturnType<typeof setTimeout>;
  private readonly out: Outbound;
  /** Created at `connect`, when the app is known. */
  private streams?: StreamAttacher;

  private readonly handlers: Handlers = {
    sub: (frame, ctx) => this.subscribe(frame, ctx),
    subs: (frame, ctx) => this.subscribeMany(frame, ctx),
    unsub: (frame, ctx) => {
      if (frame.topic === FLAGS_TOPIC) this.core.flags?.detach(this);
      this.unsubscribe(frame.topic, ctx);
      this.out.reply(frame.id, {});
    },
    pub: (frame, ctx) => this.publish(frame, ctx),
    rpc: (frame, ctx) => {
      // Not awaited: a slow method must not hold up the frames behind it.
      if (this.pendingRpcs >= MAX_PENDING_RPCS) return this.refuseBusy(frame, `at most ${MAX_PENDING_RPCS} rpc calls at once`);
      this.pendingRpcs++;
      void this.rpc(frame, ctx).finally(() => this.pendingRpcs--);
    },
    watch: (frame, ctx) => this.watch(frame, ctx),
    unwatch: (frame, ctx) => {
      this.watched.delete(frame.topic);
      this.core.presence.unwatch(ctx.app, frame.topic, this);
      this.out.reply(frame.id, {});
    },
    refresh: (frame, ctx) => this.refresh(frame, ctx),
  };

  constructor(
    private readonly ws: WebSocket,
    /** The upgraded socket `ws` runs on. */
    socket: Duplex,
    private readonly core: ServerCore,
    private readonly onClosed: (c: Connection) => void,
  ) {
    const { rateLimit, handshakeTimeout, maxBufferedBytes, maxFrameBytes, logger } = core.options;
    this.bucket = new TokenBucket(rateLimit.frames, rateLimit.per);
    this.out = new Outbound(ws, socket, this.id, core.metrics, logger, Math.max(maxBufferedBytes, maxFrameBytes), () => this.cutSlowConsumer());
    this.handshakeTimer = setTimeout(() => this.closeWith(CloseCode.HandshakeTimeout, 'no connect frame in time', true), handshakeTimeout);
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', () => this.cleanup());
    ws.on('error', (error) => {
      logger.warn(`connection ${this.id} error: ${error.message}`);
    });
  }

  /** The connection's context once `connect` succeeded. */
  get context(): ConnectionContext | undefined {
    return this.ctx;
  }

  /** What this connection holds, for `server.stats()`. */
  stats(): { open: boolean; subscriptions: number; watches: number } {
    return { open: this.state === 'open', subscriptions: this.topics.size, watches: this.watched.size };
  }

  /** Send a server-made frame (the `$flags` stream's patches) while open. */
  sendFrame(frame: ServerFrame): void {
    if (this.state === 'open') this.out.frame(frame);
  }

  /** Send a `close` frame saying whether to reconnect, then close the socket. Idempotent. */
  closeWith(code: number, reason: string, reconnect: boolean, retryAfter?: number): void {
    if (this.state === 'closed') return;
    this.out.frame(retryAfter === undefined ? { t: 'close', code, reason, reconnect } : { t: 'close', code, reason, reconnect, retryAfter });
    this.state = 'closed';
    this.clearTimers();
    this.closeSocket(code, reason);
  }

  /** Start the close handshake, and cut the socket if the peer does not finish it soon. */
  private closeSocket(code: number, reason: string): void {
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.ws.terminate();
      return;
    }
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  /** The peer stopped reading: no close frame (it would queue behind the rest), just go. */
  private cutSlowConsumer(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimers();
    this.closeSocket(CloseCode.SlowConsumer, 'client too slow');
  }

  // ------------------------------------------------------------ Subscriber / CountWatcher

  deliver(delivery: Delivery, matched: StreamOffset[]): void {
    if (this.state === 'open') this.streams?.deliver(delivery, matched);
  }

  sendCount(topic: string, users: number, connections: number): void {
    if (this.state === 'open') this.out.frame({ t: 'count', topic, users, connections });
  }

  // ------------------------------------------------------------ inbound

  private receive(data: unknown, isBinary: boolean): void {
    if (this.state === 'closed') return;
    this.lastSeen = Date.now();
    this.core.metrics.framesIn++;
    const raw = isBinary ? data : Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    const decoded = decodeClientFrame(raw, this.core.options.maxFrameBytes);

    if (!this.bucket.take()) {
      this.refuseRate(decoded.ok ? decoded.frame : undefined);
      return;
    }
    if (!decoded.ok) {
      this.out.error(decoded.error);
      if (this.state === 'handshake') {
        const looksLikeConnect = typeof raw === 'string' && /^\s*\{[^]*"t"\s*:\s*"connect"/.test(raw.slice(0, 256));
        if (looksLikeConnect) this.closeWith(CloseCode.BadConnect, decoded.error.message, false);
        else this.closeWith(CloseCode.HandshakeTimeout, 'expected a connect frame first', true);
      }
      return;
    }
    const frame = decoded.frame;
    const problem = this.state === 'handshake' && frame.t !== 'connect' ? undefined : inputProblem(frame);
    if (problem) {
      this.out.answerError('id' in frame ? frame.id : undefined, err(ErrorCode.BadRequest, problem));
      if (this.state === 'handshake') this.closeWith(CloseCode.BadConnect, problem, false);
      return;
    }
    if (frame.t === 'ping') return this.out.frame({ t: 'pong' });
    if (frame.t === 'pong') return;
    if (this.state === 'handshake') {
      if (frame.t !== 'connect') return this.closeWith(CloseCode.HandshakeTimeout, 'expected a connect frame first', true);
      // The handshake timer keeps running until `connect` succeeds: a hook that never answers
      // (`deviceOf`, a JWKS fetch) cannot hold the socket past `handshakeTimeout`.
      this.state = 'connecting';
    }
    if (this.queued >= Math.max(MAX_QUEUED_FRAMES, this.core.options.rateLimit.frames)) return this.refuseBusy(frame, 'too many frames waiting');
    this.queued++;
    this.chain = this.chain.then(() => {
      this.queued--;
      return this.handle(frame);
    });
  }

  /** Refuse a frame because too much of this connection's work is pending (not a frame-rate problem). */
  private refuseBusy(frame: ClientFrame, message: string): void {
    this.out.answerError('id' in frame ? frame.id : undefined, { code: ErrorCode.RateLimited, message, retryAfter: 1000 });
  }

  private refuseRate(frame: ClientFrame | undefined): void {
    const { frames, per } = this.core.options.rateLimit;
    const now = Date.now();
    if (now - this.refusedWindowStart >= per) {
      this.refusedWindowStart = now;
      this.refusedInWindow = 0;
    }
    const retryAfter = Math.max(1, this.bucket.retryAfter());
    if (++this.refusedInWindow >= ABUSE_FACTOR * frames) {
      this.core.metrics.error(ErrorCode.RateLimited);
      this.closeWith(CloseCode.RateLimited, 'too many frames', true, Math.max(retryAfter, per));
      return;
    }
    this.out.answerError(frame && 'id' in frame ? frame.id : undefined, { code: ErrorCode.RateLimited, message: 'too many frames', retryAfter });
  }

  private async handle(frame: Exclude<ClientFrame, { t: 'ping' | 'pong' }>): Promise<void> {
    if (this.state === 'closed') return;
    try {
      if (frame.t === 'connect') {
        if (this.state === 'open') throw new Refusal(err(ErrorCode.BadRequest, 'already connected'));
        try {
          return await this.connect(frame);
        } catch (e) {
          // A `connect` that failed on the server's side (a throwing `deviceOf`, the broker down
          // while the personal streams attach) is answered, then closed (1011, reconnect): never
          // left half-open, without a handshake timer, pings or token expiry.
          this.fail(frame.id, e);
          this.closeWith(INTERNAL_ERROR, 'connect failed on the server', true, e instanceof BrokerUnavailableError ? 1000 : undefined);
          return;
        }
      }
      if (this.state !== 'open' || !this.ctx) throw new Refusal(err(ErrorCode.BadRequest, `${frame.t} before connect`));
      const handler = this.handlers[frame.t] as (f: typeof frame, ctx: ConnectionContext) => Promise<void> | void;
      await handler(frame, this.ctx);
    } catch (e) {
      this.fail(frame.id, e);
    }
  }

  /** Answer a failed handler: a {@link Refusal} as given, anything else as `internal`. */
  private fail(id: number | undefined, e: unknown): void {
    if (this.state === 'closed') return;
    let error: WireError;
    if (e instanceof Refusal) error = e.error;
    else if (e instanceof RpcError) error = e.toWire();
    else if (e instanceof PayloadTooLargeError) error = err(ErrorCode.TooLarge, e.message);
    else if (e instanceof IdempotencyConflictError) error = err(ErrorCode.BadRequest, 'key: already used for a different publish');
    // Temporary (Redis down or failing over): `internal` with a delay, which clients retry.
    else if (e instanceof BrokerUnavailableError) error = { code: ErrorCode.Internal, message: 'service unavailable, retry later', retryAfter: 1000 };
    else {
      this.core.options.logger.error(`connection ${this.id}: handler failed`, e);
      error = err(ErrorCode.Internal, 'internal server error');
    }
    this.out.answerError(id, error);
    if (e instanceof Refusal && e.close) this.closeWith(e.close.code, error.message, e.close.reconnect);
  }

  // ------------------------------------------------------------ handlers

  private async connect(frame: ConnectFrame): Promise<void> {
    const { options, metrics, broker } = this.core;
    const ctx = await authenticate(frame, this.core, this.id, () => this.state === 'closed');
    if (!ctx) return;
    clearTimeout(this.handshakeTimer);
    this.ctx = ctx;
    this.state = 'open';
    metrics.connections++;
    this.streams = new StreamAttacher(
      broker,
      ctx.app,
      this,
      (delivery, matched) => this.state === 'open' && this.out.message(delivery, matched),
      () => {
        metrics.error('slow_consumer');
        this.closeWith(CloseCode.SlowConsumer, 'too many messages held during a subscribe', true);
      },
      // A reply is written whole: more than the buffer bound would cut the client right after it.
      Math.max(options.maxBufferedBytes, options.maxFrameBytes),
    );

    const personal = [ctx.user !== null ? `user:${ctx.user}` : undefined, ctx.device !== null ? `device:${ctx.device}` : undefined].filter(
      (s): s is string => s !== undefined,
    );
    const streams: Record<string, SubscribeResult> = {};
    await this.attach(personal, (stream) => frame.streams?.[stream], (results) => {
      for (const [stream, result] of results) {
        this.personal.add(stream);
        streams[stream] = result;
      }
      const result: ConnectResult = {
        client: this.id,
        user: ctx.user,
        device: ctx.device,
        ping: options.pingInterval,
        maxFrame: options.maxFrameBytes,
        streams,
        batch: options.maxSubscriptions,
      };
      this.out.reply(frame.id, result);
    });
    this.pingTimer = setInterval(() => this.heartbeat(), options.pingInterval);
    const exp = ctx.claims.exp;
    if (typeof exp === 'number') this.armExpiry(exp * 1000);
  }

  /** Subscribe to streams with recovery (see {@link StreamAttacher.attach}). */
  private attach(streams: string[], since: (stream: string) => StreamPosition | undefined, done: (results: Array<[string, SubscribeResult]>) => void): Promise<void> {
    return this.streams!.attach(streams, since, (s) => this.topics.has(s) || this.personal.has(s), () => this.state === 'open', done);
  }

  /**
   * Why `topic` may not be subscribed (a wire error), or `undefined`: a topic this connection does
   * not hold yet must pass `canSubscribe` and fit in `maxSubscriptions` with `adding` more about
   * to be added. Shared by `sub` and `subs`; a throwing hook propagates.
   */
  private async refusal(topic: string, ctx: ConnectionContext, adding = 0): Promise<WireError | undefined> {
    if (this.personal.has(topic) || this.topics.has(topic)) return undefined;
    return subscribeRefusal(this.core.options, ctx, topic, this.topics.size + adding);
  }

  private async subscribe(frame: SubscribeFrame, ctx: ConnectionContext): Promise<void> {
    const { topic } = frame;
    const { presence } = this.core;
    if (topic === FLAGS_TOPIC && this.core.flags) return this.out.reply(frame.id, this.core.flags.attach(this, ctx));
    const refused = await this.refusal(topic, ctx);
    if (refused) throw new Refusal(refused);
    if (this.state !== 'open') return;
    await this.attach([topic], () => frame.since, (results) => {
      if (!this.personal.has(topic) && !this.topics.has(topic)) {
        this.topics.add(topic);
        presence.join(ctx.app, topic, this, ctx.user);
      }
      this.out.reply(frame.id, results[0]![1]);
    });
  }

  /**
   * Many subscriptions in one frame (`subs`, a client's resubscribe after a reconnect): each topic
   * is checked like a `sub`; the allowed ones are attached together; the reply has each topic's
   * result or error. At most `maxSubscriptions` entries.
   */
  private async subscribeMany(frame: SubscribeManyFrame, ctx: ConnectionContext): Promise<void> {
    const { options, presence } = this.core;
    if (frame.subs.length > options.maxSubscriptions) throw new Refusal(err(ErrorCode.BadRequest, `subs: at most ${options.maxSubscriptions} entries`));
    // Null prototypes: topics are keys, and a topic may be named `__proto__`.
    const errors: Record<string, WireError> = Object.create(null);
    const since = new Map<string, StreamPosition | undefined>();
    let added = 0;
    let flags = false;
    for (const entry of frame.subs) {
      const { topic } = entry;
      if (since.has(topic) || topic in errors) continue;
      if (topic === FLAGS_TOPIC && this.core.flags) {
        flags = true;
        continue;
      }
      const isNew = !this.personal.has(topic) && !this.topics.has(topic);
      let refused: WireError | undefined;
      try {
        refused = await this.refusal(topic, ctx, added);
      } catch (e) {
        options.logger.error(`connection ${this.id}: canSubscribe failed`, e);
        refused = err(ErrorCode.Internal, 'internal server error');
      }
      if (refused) {
        errors[topic] = refused;
        continue;
      }
      if (isNew) added++;
      since.set(topic, entry.since);
    }
    if (this.state !== 'open') return;
    await this.attach([...since.keys()], (t) => since.get(t), (done) => {
      const results: Record<string, SubscribeResult> = Object.create(null);
      for (const [topic, result] of done) {
        if (!this.personal.has(topic) && !this.topics.has(topic)) {
          this.topics.add(topic);
          presence.join(ctx.app, topic, this, ctx.user);
        }
        results[topic] = result;
      }
      // Attached as the reply goes: no patch can precede the snapshot it follows.
      if (flags && this.core.flags && this.state === 'open') results[FLAGS_TOPIC] = this.core.flags.attach(this, ctx);
      this.out.reply(frame.id, { results, errors });
    });
  }

  private unsubscribe(topic: string, ctx: ConnectionContext): void {
    if (!this.topics.delete(topic)) return;
    this.core.presence.leave(ctx.app, topic, this);
    if (!this.personal.has(topic)) this.core.broker.unsubscribe(ctx.app, topic, this);
  }

  private async publish(frame: PublishFrame, ctx: ConnectionContext): Promise<void> {
    const { options } = this.core;
    // With flags on, `$flags` is the server's per-connection stream: nobody else writes to it.
    if (frame.topic === FLAGS_TOPIC && this.core.flags) throw new Refusal(err(ErrorCode.Forbidden, `${FLAGS_TOPIC} is written by the server only`));
    if (!(await options.canPublish(ctx, frame.topic, frame.data))) throw new Refusal(err(ErrorCode.Forbidden, `not allowed to publish to ${frame.topic}`));
    const published = (this.published ??= new Set());
    if (!published.has(frame.topic)) {
      if (published.size >= options.maxSubscriptions) {
        throw new Refusal(err(ErrorCode.TooManySubscriptions, `at most ${options.maxSubscriptions} distinct topics published per connection`));
      }
      published.add(frame.topic);
    }
    // The key is the sender's: a resend after a reconnect (maybe to another node) is applied once.
    const who = ctx.user !== null ? `u:${ctx.user}` : `c:${this.id}`;
    const receipt = await this.core.publish(
      ctx.app,
      { eventTopics: [frame.topic], data: frame.data },
      { key: `pub\u0000${who}\u0000${frame.key}`, fingerprint: fingerprintOf(frame.topic, frame.data) },
    );
    const result: PublishResult = { id: receipt.id, offset: receipt.streams[frame.topic] ?? 0 };
    this.out.reply(frame.id, result);
  }

  private async rpc(frame: RequestFrame, ctx: ConnectionContext): Promise<void> {
    try {
      const methods = this.core.options.methods;
      if (!Object.prototype.hasOwnProperty.call(methods, frame.method)) throw new Refusal(err(ErrorCode.MethodNotFound, `no method "${frame.method}"`));
      const result = await methods[frame.method]!(frame.params, ctx);
      this.out.reply(frame.id, result === undefined ? null : result);
    } catch (e) {
      this.fail(frame.id, e);
    }
  }

  private async watch(frame: WatchFrame, ctx: ConnectionContext): Promise<void> {
    const { options, presence } = this.core;
    if (!this.watched.has(frame.topic)) {
      if (!(await options.canSubscribe(ctx, frame.topic))) throw new Refusal(err(ErrorCode.Forbidden, `not allowed to watch ${frame.topic}`));
      if (this.watched.size >= options.maxSubscriptions) {
        throw new Refusal(err(ErrorCode.TooManySubscriptions, `at most ${options.maxSubscriptions} watched topics`));
      }
    }
    if (this.state !== 'open') return;
    this.watched.add(frame.topic);
    const count = await presence.watch(ctx.app, frame.topic, this);
    if (this.state === 'open') this.out.reply(frame.id, count);
    else presence.unwatch(ctx.app, frame.topic, this);
  }

  private async refresh(frame: RefreshFrame, ctx: ConnectionContext): Promise<void> {
    const claims = await verifyRefresh(frame, ctx, this.core);
    if (this.state !== 'open') return;
    ctx.claims = claims;
    clearTimeout(this.expiryTimer);
    clearTimeout(this.graceTimer);
    this.expiryTimer = this.graceTimer = undefined;
    if (claims.exp !== undefined) this.armExpiry(claims.exp * 1000);
    this.out.reply(frame.id, {});
    this.core.flags?.reidentify(this, ctx);
  }

  // ------------------------------------------------------------ timers

  private armExpiry(at: number): void {
    const delay = at - Date.now();
    if (delay > MAX_TIMER) {
      this.expiryTimer = setTimeout(() => this.armExpiry(at), MAX_TIMER);
      return;
    }
    this.expiryTimer = setTimeout(() => this.expire(), Math.max(0, delay));
  }

  private expire(): void {
    if (this.state !== 'open') return;
    const grace = this.core.options.tokenGrace;
    this.out.frame({ t: 'expired', grace });
    this.graceTimer = setTimeout(() => this.closeWith(CloseCode.TokenExpired, 'token expired', true), grace);
  }

  private heartbeat(): void {
    if (Date.now() - this.lastSeen >= 2 * this.core.options.pingInterval) {
      this.closeWith(CloseCode.Stale, 'no frame from the client in two ping intervals', true);
      return;
    }
    this.out.frame({ t: 'ping' });
  }

  private clearTimers(): void {
    clearTimeout(this.handshakeTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.expiryTimer);
    clearTimeout(this.graceTimer);
  }

  /** The socket is gone: release every subscription, watch and timer. */
  private cleanup(): void {
    const wasOpen = this.ctx !== undefined && this.state !== 'handshake';
    this.state = 'closed';
    this.clearTimers();
    const ctx = this.ctx;
    this.core.flags?.detach(this);
    if (ctx) {
      const { broker, presence } = this.core;
      for (const t of this.topics) {
        presence.leave(ctx.app, t, this);
        broker.unsubscribe(ctx.app, t, this);
      }
      for (const s of this.personal) broker.unsubscribe(ctx.app, s, this);
      for (const t of this.watched) presence.unwatch(ctx.app, t, this);
      this.topics.clear();
      this.personal.clear();
      this.watched.clear();
      this.streams?.clear();
      if (wasOpen) this.core.metrics.connections--;
    }
    this.onClosed(this);
  }
}
