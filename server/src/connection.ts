import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import {
  CloseCode,
  decodeClientFrame,
  encodeFrame,
  ErrorCode,
  PROTOCOL_VERSION,
  type ClientFrame,
  type ConnectFrame,
  type ConnectResult,
  type PublishFrame,
  type PublishResult,
  type RefreshFrame,
  type RequestFrame,
  type ServerFrame,
  type StreamPosition,
  type SubscribeFrame,
  type SubscribeResult,
  type WatchFrame,
  type WireError,
} from 'sdk-realtime/protocol';
import type { TokenAuthority, TokenClaims } from './auth';
import { BrokerUnavailableError, IdempotencyConflictError, type Broker, type PublishOptions, type Delivery, type StreamOffset, type Subscriber } from './brokers/types';
import { RpcError } from './errors';
import { fingerprintOf } from './idempotency';
import { tooDeep } from './json-depth';
import { PayloadTooLargeError } from './publish';
import type { Metrics } from './metrics';
import type { ConnectionContext, ResolvedOptions } from './options';
import type { CountWatcher, Presence } from './presence';
import type { PublishReceipt, PublishTarget } from './publish';
import { TokenBucket } from './rate-limit';

/** The shared server parts a connection works with. */
export interface ServerCore {
  options: ResolvedOptions;
  broker: Broker;
  presence: Presence;
  metrics: Metrics;
  auth: TokenAuthority;
  publish(app: string, target: PublishTarget, options?: PublishOptions): Promise<PublishReceipt>;
}

/** Refusing this many times the frame limit within one rate window closes the connection (4002). */
const ABUSE_FACTOR = 5;
/** Largest delay `setTimeout` honours. */
const MAX_TIMER = 2 ** 31 - 1;
/** A peer that does not answer our close frame within this is cut (ws would wait 30 s). */
export const CLOSE_GRACE_MS = 1000;
/** Longest topic, method, app or device name accepted, in UTF-16 units. */
export const MAX_NAME_LENGTH = 256;
/** Longest idempotency key of a `pub`. */
const MAX_KEY_LENGTH = 128;
/**
 * Frames waiting behind a slow one (e.g. an async `canSubscribe`): at most this many, or one rate
 * window's worth (`rateLimit.frames`) when that is more; beyond: `rate_limited`.
 */
export const MAX_QUEUED_FRAMES = 256;
/** RPC calls of one connection running at once; beyond: `rate_limited`. */
export const MAX_PENDING_RPCS = 64;
/** Live messages held while a subscription fetches its history; beyond: closed with 4005 (it recovers). */
const MAX_HELD = 10_000;

type State = 'handshake' | 'connecting' | 'open' | 'closed';

/** A problem answered with a reply error (and, for `close`, then closing the connection). */
class Refusal {
  constructor(
    readonly error: WireError,
    readonly close?: { code: number; reconnect: boolean },
  ) {}
}

/**
 * One client WebSocket: the handshake, then frames processed in arrival order, personal and topic
 * subscriptions, presence, token expiry, pings and limits. Every handler is wrapped: a failure is
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
  /** While > 0, a subscription is fetching its history: live messages wait in `held`. */
  private subscribing = 0;
  private held: Array<{ delivery: Delivery; matched: StreamOffset[] }> = [];
  /** Frames appended to `chain` and not yet handled. */
  private queued = 0;
  private pendingRpcs = 0;
  /** Newest offset already covered by a history reply, per stream, while messages are held. */
  private readonly covered = new Map<string, StreamPosition>();
  private readonly bucket: TokenBucket;
  private refusedInWindow = 0;
  private refusedWindowStart = 0;
  private lastSeen = Date.now();
  private handshakeTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private expiryTimer?: ReturnType<typeof setTimeout>;
  private graceTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly ws: WebSocket,
    private readonly core: ServerCore,
    private readonly onClosed: (c: Connection) => void,
  ) {
    const { rateLimit, handshakeTimeout } = core.options;
    this.bucket = new TokenBucket(rateLimit.frames, rateLimit.per);
    this.handshakeTimer = setTimeout(
      () => this.closeWith(CloseCode.HandshakeTimeout, 'no connect frame in time', true),
      handshakeTimeout,
    );
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', () => this.cleanup());
    ws.on('error', (error) => {
      core.options.logger.warn(`connection ${this.id} error: ${error.message}`);
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

  /** Send a `close` frame saying whether to reconnect, then close the socket. Idempotent. */
  closeWith(code: number, reason: string, reconnect: boolean, retryAfter?: number): void {
    if (this.state === 'closed') return;
    const frame: ServerFrame = { t: 'close', code, reason, reconnect };
    if (retryAfter !== undefined) frame.retryAfter = retryAfter;
    this.send(frame);
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

  // ------------------------------------------------------------ Subscriber / CountWatcher

  deliver(delivery: Delivery, matched: StreamOffset[]): void {
    if (this.state !== 'open') return;
    if (this.subscribing > 0) {
      if (this.held.length >= MAX_HELD) {
        this.core.metrics.error('slow_consumer');
        this.closeWith(CloseCode.SlowConsumer, 'too many messages held during a subscribe', true);
        return;
      }
      this.held.push({ delivery, matched });
      return;
    }
    this.sendMessage(delivery, matched);
  }

  sendCount(topic: string, users: number, connections: number): void {
    if (this.state === 'open') this.send({ t: 'count', topic, users, connections });
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
      if (this.state === 'handshake') {
        this.sendError(decoded.error);
        const looksLikeConnect = typeof raw === 'string' && /^\s*\{[^]*"t"\s*:\s*"connect"/.test(raw.slice(0, 256));
        if (looksLikeConnect) this.closeWith(CloseCode.BadConnect, decoded.error.message, false);
        else this.closeWith(CloseCode.HandshakeTimeout, 'expected a connect frame first', true);
        return;
      }
      this.sendError(decoded.error);
      return;
    }
    const frame = decoded.frame;
    const problem = this.state === 'handshake' && frame.t !== 'connect' ? undefined : inputProblem(frame);
    if (problem) {
      const error = err(ErrorCode.BadRequest, problem);
      if ('id' in frame) this.replyError(frame.id, error);
      else this.sendError(error);
      if (this.state === 'handshake') this.closeWith(CloseCode.BadConnect, problem, false);
      return;
    }
    if (frame.t === 'ping') {
      this.send({ t: 'pong' });
      return;
    }
    if (frame.t === 'pong') return;
    if (this.state === 'handshake') {
      if (frame.t !== 'connect') {
        this.closeWith(CloseCode.HandshakeTimeout, 'expected a connect frame first', true);
        return;
      }
      this.state = 'connecting';
      clearTimeout(this.handshakeTimer);
    }
    if (this.queued >= Math.max(MAX_QUEUED_FRAMES, this.core.options.rateLimit.frames)) {
      this.refuseBusy(frame, 'too many frames waiting');
      return;
    }
    this.queued++;
    this.chain = this.chain.then(() => {
      this.queued--;
      return this.handle(frame);
    });
  }

  /** Refuse a frame because too much of this connection's work is pending (not a frame-rate problem). */
  private refuseBusy(frame: ClientFrame, message: string): void {
    const error: WireError = { code: ErrorCode.RateLimited, message, retryAfter: 1000 };
    if ('id' in frame) this.replyError(frame.id, error);
    else this.sendError(error);
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
    const error: WireError = { code: ErrorCode.RateLimited, message: 'too many frames', retryAfter };
    if (frame && 'id' in frame) this.replyError(frame.id, error);
    else this.sendError(error);
  }

  private async handle(frame: ClientFrame): Promise<void> {
    if (this.state === 'closed') return;
    const id = 'id' in frame ? frame.id : undefined;
    try {
      if (frame.t === 'connect') {
        if (this.state === 'open') throw new Refusal(err(ErrorCode.BadRequest, 'already connected'));
        await this.connect(frame);
        return;
      }
      if (this.state !== 'open' || !this.ctx) throw new Refusal(err(ErrorCode.BadRequest, `${frame.t} before connect`));
      switch (frame.t) {
        case 'sub':
          return await this.subscribe(frame, this.ctx);
        case 'unsub':
          this.unsubscribe(frame.topic, this.ctx);
          return this.reply(frame.id, {});
        case 'pub':
          return await this.publish(frame, this.ctx);
        case 'rpc':
          // Not awaited: a slow method must not hold up the frames behind it.
          if (this.pendingRpcs >= MAX_PENDING_RPCS) return this.refuseBusy(frame, `at most ${MAX_PENDING_RPCS} rpc calls at once`);
          this.pendingRpcs++;
          void this.rpc(frame, this.ctx).finally(() => this.pendingRpcs--);
          return;
        case 'watch':
          return await this.watch(frame, this.ctx);
        case 'unwatch':
          this.watched.delete(frame.topic);
          this.core.presence.unwatch(this.ctx.app, frame.topic, this);
          return this.reply(frame.id, {});
        case 'refresh':
          return await this.refresh(frame, this.ctx);
      }
    } catch (e) {
      this.fail(id, e);
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
    if (id !== undefined) this.replyError(id, error);
    else this.sendError(error);
    if (e instanceof Refusal && e.close) this.closeWith(e.close.code, error.message, e.close.reconnect);
  }

  // ------------------------------------------------------------ handlers

  private async connect(frame: ConnectFrame): Promise<void> {
    const { options, auth, metrics } = this.core;
    if (frame.v !== PROTOCOL_VERSION) {
      throw new Refusal(err(ErrorCode.BadRequest, `protocol version ${frame.v} not supported (server speaks ${PROTOCOL_VERSION})`), {
        code: CloseCode.BadConnect,
        reconnect: false,
      });
    }
    if (options.apps && !options.apps.has(frame.app)) {
      throw new Refusal(err(ErrorCode.Forbidden, `app "${frame.app}" is not allowed`), { code: CloseCode.Forbidden, reconnect: false });
    }
    let claims: TokenClaims | undefined;
    if (frame.token === undefined || frame.token === '') {
      if (!options.allowAnonymous) {
        throw new Refusal(err(ErrorCode.Unauthorized, 'token missing'), { code: CloseCode.Unauthorized, reconnect: false });
      }
    } else {
      const verified = await auth.verify(frame.token);
      if (this.state === 'closed') return;
      if (!verified.ok) {
        // An expired token is fixed by a fresh one; a badly signed or malformed one is not.
        throw new Refusal(err(ErrorCode.Unauthorized, verified.message), {
          code: CloseCode.Unauthorized,
          reconnect: verified.expired,
        });
      }
      claims = verified.claims;
      this.checkBinding(claims, frame.app, frame.device);
    }
    const ctx: ConnectionContext = {
      app: frame.app,
      user: claims?.sub ?? null,
      device: claims?.device ?? null,
      client: this.id,
      claims: claims ?? {},
    };
    // A device stream is owned only when the verified token names the device, or the deviceOf hook
    // grants it; an unverified `device` in `connect` is otherwise ignored. Anonymous: never.
    if (ctx.device === null && ctx.user !== null && frame.device !== undefined && options.deviceOf) {
      const granted = await options.deviceOf({ ...ctx }, frame.device);
      if (this.state === 'closed') return;
      if (granted !== null && (typeof granted !== 'string' || granted.length === 0 || granted.length > MAX_NAME_LENGTH)) {
        throw new TypeError('deviceOf must return a non-empty string or null');
      }
      ctx.device = granted;
    }
    const device = ctx.device;
    this.ctx = ctx;
    this.state = 'open';
    metrics.connections++;

    const personal = [ctx.user !== null ? `user:${ctx.user}` : undefined, device !== null ? `device:${device}` : undefined];
    const streams: Record<string, SubscribeResult> = {};
    await this.attach(
      personal.filter((s): s is string => s !== undefined),
      (stream) => frame.streams?.[stream],
      (results) => {
        for (const [stream, result] of results) {
          this.personal.add(stream);
          streams[stream] = result;
        }
        const result: ConnectResult = {
          client: this.id,
          user: ctx.user,
          device,
          ping: options.pingInterval,
          maxFrame: options.maxFrameBytes,
          streams,
        };
        this.reply(frame.id, result);
      },
    );
    this.pingTimer = setInterval(() => this.heartbeat(), options.pingInterval);
    if (claims?.exp !== undefined) this.armExpiry(claims.exp * 1000);
  }

  /**
   * Token claims `app` and `device`, when present, must match the connection; a token without
   * `app` is accepted only with `tokens.anyApp` (or a single allowed app).
   */
  private checkBinding(claims: TokenClaims, app: string, device: string | undefined): void {
    if (claims.app !== undefined && claims.app !== app) {
      throw new Refusal(err(ErrorCode.Forbidden, `token is bound to another app`), { code: CloseCode.Forbidden, reconnect: false });
    }
    if (claims.app === undefined && !this.core.options.tokens.anyApp) {
      throw new Refusal(err(ErrorCode.Forbidden, 'token has no "app" claim (the server accepts those only with tokens.anyApp)'), {
        code: CloseCode.Forbidden,
        reconnect: false,
      });
    }
    if (claims.device !== undefined && device !== undefined && claims.device !== device) {
      throw new Refusal(err(ErrorCode.Unauthorized, `token is bound to another device`), {
        code: CloseCode.Unauthorized,
        reconnect: false,
      });
    }
  }

  /**
   * Subscribe to `streams` and fetch their recovery. Live messages arriving meanwhile are held and
   * sent after `done` (which sends the reply), minus those the history already replayed.
   */
  private async attach(
    streams: string[],
    since: (stream: string) => StreamPosition | undefined,
    done: (results: Array<[string, SubscribeResult]>) => void,
  ): Promise<void> {
    const ctx = this.ctx!;
    const { broker } = this.core;
    this.subscribing++;
    try {
      // Live first (the broker holds the subscription once this resolves), then the history: a
      // message published in between is held below and dropped if the history covered it.
      await Promise.all(streams.map((s) => broker.subscribe(ctx.app, s, this)));
      const results = await Promise.all(
        streams.map(async (s): Promise<[string, SubscribeResult]> => [s, await broker.history(ctx.app, s, since(s))]),
      );
      for (const [s, r] of results) this.covered.set(s, { epoch: r.epoch, offset: r.offset });
      if (this.state === 'open') done(results);
    } catch (e) {
      for (const s of streams) if (!this.topics.has(s) && !this.personal.has(s)) broker.unsubscribe(ctx.app, s, this);
      throw e;
    } finally {
      this.subscribing--;
      // The socket closed while the history was fetched: cleanup() did not know these streams yet.
      if (this.state === 'closed') {
        for (const s of streams) broker.unsubscribe(ctx.app, s, this);
      } else if (this.subscribing === 0) this.releaseHeld();
    }
  }

  private releaseHeld(): void {
    const held = this.held;
    const covered = this.covered;
    this.held = [];
    for (const { delivery, matched } of held) {
      const rest = matched.filter((m) => {
        const c = covered.get(m.stream);
        return !(c && c.epoch === m.epoch && m.offset <= c.offset);
      });
      if (rest.length > 0 && this.state === 'open') this.sendMessage(delivery, rest);
    }
    covered.clear();
  }

  private async subscribe(frame: SubscribeFrame, ctx: ConnectionContext): Promise<void> {
    const { topic } = frame;
    const known = this.personal.has(topic) || this.topics.has(topic);
    if (!known) {
      if (!(await this.core.options.canSubscribe(ctx, topic))) {
        throw new Refusal(err(ErrorCode.Forbidden, `not allowed to subscribe to ${topic}`));
      }
      if (this.topics.size >= this.core.options.maxSubscriptions) {
        throw new Refusal(err(ErrorCode.TooManySubscriptions, `at most ${this.core.options.maxSubscriptions} subscriptions`));
      }
    }
    if (this.state !== 'open') return;
    await this.attach([topic], () => frame.since, (results) => {
      const result = results[0]![1];
      if (!this.personal.has(topic) && !this.topics.has(topic)) {
        this.topics.add(topic);
        this.core.presence.join(ctx.app, topic, this, ctx.user);
      }
      this.reply(frame.id, result);
    });
  }

  private unsubscribe(topic: string, ctx: ConnectionContext): void {
    if (!this.topics.delete(topic)) return;
    this.core.presence.leave(ctx.app, topic, this);
    if (!this.personal.has(topic)) this.core.broker.unsubscribe(ctx.app, topic, this);
  }

  private async publish(frame: PublishFrame, ctx: ConnectionContext): Promise<void> {
    const { options } = this.core;
    if (!(await options.canPublish(ctx, frame.topic, frame.data))) {
      throw new Refusal(err(ErrorCode.Forbidden, `not allowed to publish to ${frame.topic}`));
    }
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
    this.reply(frame.id, result);
  }

  private async rpc(frame: RequestFrame, ctx: ConnectionContext): Promise<void> {
    try {
      const methods = this.core.options.methods;
      if (!Object.prototype.hasOwnProperty.call(methods, frame.method)) {
        throw new Refusal(err(ErrorCode.MethodNotFound, `no method "${frame.method}"`));
      }
      const result = await methods[frame.method]!(frame.params, ctx);
      this.reply(frame.id, result === undefined ? null : result);
    } catch (e) {
      this.fail(frame.id, e);
    }
  }

  private async watch(frame: WatchFrame, ctx: ConnectionContext): Promise<void> {
    const { options, presence } = this.core;
    if (!this.watched.has(frame.topic)) {
      if (!(await options.canSubscribe(ctx, frame.topic))) {
        throw new Refusal(err(ErrorCode.Forbidden, `not allowed to watch ${frame.topic}`));
      }
      if (this.watched.size >= options.maxSubscriptions) {
        throw new Refusal(err(ErrorCode.TooManySubscriptions, `at most ${options.maxSubscriptions} watched topics`));
      }
    }
    if (this.state !== 'open') return;
    this.watched.add(frame.topic);
    const count = await presence.watch(ctx.app, frame.topic, this);
    if (this.state === 'open') this.reply(frame.id, count);
    else presence.unwatch(ctx.app, frame.topic, this);
  }

  private async refresh(frame: RefreshFrame, ctx: ConnectionContext): Promise<void> {
    const verified = await this.core.auth.verify(frame.token);
    if (!verified.ok) throw new Refusal(err(ErrorCode.Unauthorized, verified.message));
    const claims = verified.claims;
    if (claims.sub !== ctx.user) throw new Refusal(err(ErrorCode.Unauthorized, 'token is for another user'));
    if (claims.app !== undefined && claims.app !== ctx.app) throw new Refusal(err(ErrorCode.Forbidden, 'token is bound to another app'));
    if (claims.app === undefined && !this.core.options.tokens.anyApp) {
      throw new Refusal(err(ErrorCode.Forbidden, 'token has no "app" claim'));
    }
    if (claims.device !== undefined && claims.device !== ctx.device) {
      throw new Refusal(err(ErrorCode.Unauthorized, 'token is bound to another device'));
    }
    if (this.state !== 'open') return;
    ctx.claims = claims;
    clearTimeout(this.expiryTimer);
    clearTimeout(this.graceTimer);
    this.expiryTimer = this.graceTimer = undefined;
    if (claims.exp !== undefined) this.armExpiry(claims.exp * 1000);
    this.reply(frame.id, {});
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
    this.send({ t: 'expired', grace });
    this.graceTimer = setTimeout(() => this.closeWith(CloseCode.TokenExpired, 'token expired', true), grace);
  }

  private heartbeat(): void {
    if (Date.now() - this.lastSeen >= 2 * this.core.options.pingInterval) {
      this.closeWith(CloseCode.Stale, 'no frame from the client in two ping intervals', true);
      return;
    }
    this.send({ t: 'ping' });
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
      this.held = [];
      if (wasOpen) this.core.metrics.connections--;
    }
    this.onClosed(this);
  }

  // ------------------------------------------------------------ outbound

  private sendMessage(delivery: Delivery, matched: StreamOffset[]): void {
    const [first, ...rest] = matched;
    if (!first) return;
    this.core.metrics.messagesDelivered++;
    // A broadcast sends the same bytes to every subscriber matched on one stream: encode them once.
    let cache: Map<string, string> | undefined;
    if (rest.length === 0) {
      cache = encodedDeliveries.get(delivery);
      const text = cache?.get(first.stream);
      if (text !== undefined) return this.sendText(text);
    }
    const frame: ServerFrame = {
      t: 'msg',
      topic: first.stream,
      id: delivery.id,
      offset: first.offset,
      epoch: first.epoch,
      ts: delivery.ts,
      data: delivery.data,
    };
    if (rest.length > 0) frame.also = Object.fromEntries(rest.map((m) => [m.stream, m.offset]));
    const text = encodeFrame(frame);
    if (rest.length === 0) {
      if (!cache) encodedDeliveries.set(delivery, (cache = new Map()));
      cache.set(first.stream, text);
    }
    this.sendText(text);
  }

  private reply(id: number, result: unknown): void {
    let text: string;
    try {
      text = encodeFrame({ t: 'reply', id, result });
    } catch (e) {
      // e.g. an RPC method returned a BigInt or a cycle
      this.core.options.logger.error(`connection ${this.id}: reply ${id} is not serializable`, e);
      this.replyError(id, err(ErrorCode.Internal, 'result is not serializable'));
      return;
    }
    this.sendText(text);
  }

  private replyError(id: number, error: WireError): void {
    this.core.metrics.error(error.code);
    this.send({ t: 'reply', id, error });
  }

  private sendError(error: WireError): void {
    this.core.metrics.error(error.code);
    this.send({ t: 'error', error });
  }

  private send(frame: ServerFrame): void {
    this.sendText(encodeFrame(frame));
  }

  private sendText(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // A consumer that stopped reading must not hold unbounded server memory: cut it loose; it
    // recovers what it missed from history when it reconnects.
    if (this.ws.bufferedAmount > Math.max(this.core.options.maxBufferedBytes, this.core.options.maxFrameBytes)) {
      if (this.state === 'closed') return;
      this.core.metrics.error('slow_consumer');
      this.state = 'closed';
      this.clearTimers();
      this.closeSocket(CloseCode.SlowConsumer, 'client too slow');
      return;
    }
    try {
      this.ws.send(text);
      this.core.metrics.framesOut++;
    } catch (e) {
      this.core.options.logger.warn(`connection ${this.id}: send failed`, e);
    }
  }
}

const err = (code: string, message: string): WireError => ({ code, message });

/** Encoded `msg` frames per delivery and stream, kept only as long as the delivery object lives. */
const encodedDeliveries = new WeakMap<Delivery, Map<string, string>>();

/** Names longer than {@link MAX_NAME_LENGTH}, idempotency keys over 128 and JSON nested too deep are refused. */
function inputProblem(frame: ClientFrame): string | undefined {
  const long = (field: string, v: string | undefined, max = MAX_NAME_LENGTH) =>
    v !== undefined && v.length > max ? `${frame.t}: "${field}" is longer than ${max}` : undefined;
  switch (frame.t) {
    case 'connect':
      return long('app', frame.app) ?? long('device', frame.device) ?? deep(frame.streams, 'streams', 2);
    case 'sub':
    case 'unsub':
    case 'watch':
    case 'unwatch':
      return long('topic', frame.topic);
    case 'pub':
      return long('topic', frame.topic) ?? long('key', frame.key, MAX_KEY_LENGTH) ?? deep(frame.data, 'data');
    case 'rpc':
      return long('method', frame.method) ?? deep(frame.params, 'params');
    default:
      return undefined;
  }
}

function deep(value: unknown, field: string, max?: number): string | undefined {
  const path = tooDeep(value, max, field);
  return path === undefined ? undefined : `"${path}" is nested too deeply`;
}
