import { decodeServerFrame, encodeFrame, isObj, isOver, isStr } from '../protocol/codec';
import {
  DEFAULT_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type ErrorCode,
  type ClientFrame,
  type ConnectResult,
  type Publication,
  type PublishResult,
  type ReplyFrame,
  type StreamPosition,
  type SubscribeManyResult,
  type SubscribeResult,
} from '../protocol/frames';
import type { TransportConnection, TransportHandlers } from '../transports/types';
import { backoffDelay } from '../util/backoff';
import { Emitter, type Listener } from '../util/emitter';
import { randomId } from '../util/ids';
import { MAX_DELAY, type Timers } from '../util/timers';
import type { Environment } from '../util/environment';
import { RealtimeError, fromWire } from './errors';
import { overdue, unwatch, watch, type Watched } from './heartbeat';
import { BATCH_BOUND, MAX_FRAME_BOUND, PING_BOUND, REFRESH_INTERVAL, RETRY_AFTER_BOUND, clamp } from './limits';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options';
import type { SchemaOutput, StandardSchemaV1 } from './schema';
import { Operations, type AppFrame, type Op } from './operations';
import { Presence, type OnlineCount } from './presence';
import { SavedState } from './saved-state';
import { UNAUTHORIZED, mayReconnect, type ConnectionSnapshot, type ConnectionState, type LinkEnd, type StateChange } from './state';
import {
  NO_STREAMS,
  Subscriptions,
  type GapInfo,
  type MessageHandler,
  type SubscribeOptions,
  type SubscribedInfo,
  type Subscription,
} from './subscriptions';

/** Backoff of subscribe retries when reconnecting is off (otherwise the reconnect bounds). */
const SUB_RETRY = { floor: 500, ceiling: 30_000 };
/** `o` has `key` of its own (a topic may be named `__proto__`). */
const own = (o: unknown, key: string): boolean => isObj(o) && Object.prototype.hasOwnProperty.call(o, key);

/** Payload of the `connected` event. */
export interface ConnectedInfo {
  /** Connection id the server assigned (for logs). */
  client: string;
  user: string | null;
  device: string | null;
  /** `false` for the first connection of this client, `true` after a reconnect. */
  reconnected: boolean;
}

/** Payload of the `disconnected` event, sent each time a link closes or fails to open. */
export interface DisconnectedInfo {
  /** WebSocket / protocol close code (docs/protocol.md); 1006 for client-side failures. */
  code: number;
  reason: string;
  willReconnect: boolean;
  /** Wait before the next attempt, in ms, when `willReconnect`. */
  delay?: number;
}

/** Events of {@link RealtimeClient.on}. */
export type ClientEvents = {
  state: StateChange;
  connected: ConnectedInfo;
  disconnected: DisconnectedInfo;
  /** Every message delivered, from topics and personal streams, once each. */
  message: Publication;
  /** A subscription (or personal stream) was confirmed, with whether recovery was complete. */
  subscribed: SubscribedInfo;
  /** Messages of a stream may have been missed. */
  gap: GapInfo;
  /**
   * Anything that went wrong without being a rejected promise (a failure reaches the app once:
   * `publish`/`request` failures only reject). Never thrown. A normal `close()` emits none.
   */
  error: RealtimeError;
};

export interface PublishOptions {
  /** Deadline from the call, in ms. Default: `requestTimeout` if sent at once, `outbox.timeout` if it waits. */
  timeout?: number;
  /** Idempotency key. Default: a random id; the same key is reused on every resend. */
  key?: string;
}

export interface RequestOptions {
  /** Deadline from the call, in ms. Default: `requestTimeout` (10 s) if sent at once, `outbox.timeout` if it waits. */
  timeout?: number;
}

/**
 * Payload types by topic, for typed messages: `createClient<Topics>(…)`. Keys are topic names or
 * template patterns; a topic no key matches has `unknown` payloads.
 *
 * ```ts
 * type Topics = { [order: `order:${string}`]: { status: 'paid' | 'shipped' }; 'chat:general': ChatLine };
 * const client = createClient<Topics>({ url, app });
 * client.subscribe('order:1', (m) => m.data.status); // m.data: { status: 'paid' | 'shipped' }
 * ```
 */
export type TopicMap = Record<string, unknown>;

/** The payload type of `topic` in `Topics` (`unknown` when no key or pattern matches). */
export type PayloadOf<Topics extends TopicMap, K extends string> = string extends K
  ? unknown
  : { [P in keyof Topics]: K extends P ? Topics[P] : never }[keyof Topics] extends infer T
    ? [T] extends [never]
      ? unknown
      : T
    : never;

/**
 * A realtime connection (from {@link createClient}). Its methods live on the prototype: call them
 * on the client, or bind them before passing them around; `subscribeState` and `getSnapshot` are
 * bound (for `useSyncExternalStore`).
 */
export interface RealtimeClient<Topics extends TopicMap = TopicMap> {
  /** Current connection state. */
  readonly state: ConnectionState;
  /** Start connecting (nothing happens before). Idempotent; after `closed` it starts again. */
  connect(): void;
  /**
   * Close for good: state `closed`, waiting publishes/requests reject with `closed`; requests of
   * the client's own (unsubscribes, watches) end silently, so no `error` is emitted. Idempotent.
   */
  close(): void;
  /**
   * Hold connection attempts back (an app in the background, a screen that needs no live data):
   * the link that is up stays up; when it drops, or a retry is waiting, no attempt is made and
   * none counts towards `reconnect.maxAttempts` until `resume()`. State `reconnecting`, reason
   * `paused`, while a connection is owed. Idempotent.
   */
  pause(): void;
  /** End a `pause()`: a connection owed since is attempted at once. Idempotent. */
  resume(): void;
  /** Listen to an event; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void;
  /**
   * Receive the messages of `topic` (one server subscription however many handlers). The payload
   * type comes from `options.schema` (validated at runtime), the client's {@link TopicMap}, or is
   * given: `subscribe<Order>('order:1', …)`.
   */
  subscribe<S extends StandardSchemaV1>(topic: string, handler: MessageHandler<SchemaOutput<S>>, options: SubscribeOptions & { schema: S }): Subscription;
  subscribe<K extends string>(topic: K, handler: MessageHandler<PayloadOf<Topics, K>>, options?: SubscribeOptions): Subscription;
  subscribe<T = unknown>(topic: string, handler: MessageHandler<T>, options?: SubscribeOptions): Subscription;
  /** Publish `data` on `topic`; resolves with the server's id and offset once applied. */
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<PublishResult>;
  /** Call RPC `method`; resolves with its result. */
  request<R = unknown>(method: string, params?: unknown, options?: RequestOptions): Promise<R>;
  /** Watch the online count of `topic`; returns the unsubscribe function. */
  onlineCount(topic: string, handler: (count: OnlineCount) => void): () => void;
  /** Store interface for adapters (`useSyncExternalStore(client.subscribeState, client.getSnapshot)`). */
  subscribeState(listener: () => void): () => void;
  getSnapshot(): ConnectionSnapshot;
}

/** A frame type without its per-link `id` (distributes over unions). */
type WithoutId<F> = F extends unknown ? Omit<F, 'id'> : never;

const PONG = encodeFrame({ t: 'pong' });

/** Close codes (4100, 4101, 4102) for a refused `connect` reply, so the close-code table decides what follows. */
// Null prototype: a server's code (`constructor`, `__proto__`) never finds an inherited value.
const REFUSAL: Record<string, number | undefined> = { __proto__: null, unauthorized: 4100, forbidden: 4101, bad_request: 4102 } as never;

const isStrOrNull = (v: unknown) => v === null || isStr(v);
/** A `connect` result the client can act on (its numbers are clamped after). */
const usable = (r: ConnectResult) =>
  isObj(r) &&
  isStr(r.client) &&
  isStrOrNull(r.user) &&
  isStrOrNull(r.device) &&
  typeof r.ping == 'number' &&
  typeof r.maxFrame == 'number' &&
  isObj(r.streams);

const noop = () => {};

/** The clients of one environment: its listeners are added once for all of them (with the first, removed with the last). */
type Hub = Set<Client> & { off?: ((() => void) | undefined)[] };
const hubs = new WeakMap<Environment, Hub>();

/** `client` listens to `env` (online, visible, hidden) through the one set of listeners of that environment. */
const join = (env: Environment, client: Client) => {
  let hub = hubs.get(env);
  if (!hub) hubs.set(env, (hub = new Set()));
  const all = hub;
  if (!all.size) {
    all.off = [
      env.onOnline(() => all.forEach((c) => c.wake_())),
      env.onVisible(() => all.forEach((c) => c.visible_())),
      env.onHidden?.(() => all.forEach((c) => c.hidden_())),
    ];
  }
  all.add(client);
};

const leave = (env: Environment, client: Client) => {
  const hub = hubs.get(env);
  if (hub?.delete(client) && !hub.size) for (const off of hub.off!) off?.();
};

/**
 * One attempt at a connection: a transport link, dead once it ended. It is the transport's
 * handlers object itself (methods on the prototype), so a link costs no closures.
 */
class Link implements TransportHandlers {
  conn_?: TransportConnection;
  dead_?: boolean;

  /** The token this attempt connects with (known once the token function answered). */
  token_?: string;

  constructor(private readonly client_: Client) {}

  onOpen(): void {
    if (!this.dead_) this.client_.opened_(this);
  }

  onMessage(data: string | ArrayBuffer): void {
    if (!this.dead_) this.client_.frame_(this, data);
  }

  onClose(code: number, reason: string): void {
    this.client_.drop_(this, { code, reason });
  }

  onError(e: unknown): void {
    if (!this.dead_) this.client_.fail_('transport', 'transport error', e);
  }
}

/**
 * The client. Its state is fields and its logic methods on the prototype, so an idle client is
 * one object and a few small tables, not ~50 closures (bench/mem.mjs). Internal members end in
 * `_` (shortened in the bundle, see tsup.config.ts); the public API is {@link RealtimeClient}.
 */
class Client extends Emitter<ClientEvents> implements RealtimeClient, Watched {
  private readonly o_: ResolvedOptions;
  private readonly timers_: Timers;
  private readonly tokenFn_: boolean;
  private snapshot_: ConnectionSnapshot = snapshotOf('idle');
  private link_?: Link;
  /** The current link accepted `connect` and everything owed to it was sent. */
  private ready_?: boolean;
  private everConnected_?: boolean;
  /** Outbound limit: the default until the server states its own. */
  private maxFrame_ = DEFAULT_MAX_FRAME_BYTES;
  private attempt_ = 0;
  private refusals_ = 0;
  private notBefore_ = 0;
  /** No token refresh for an `expired` before this time. */
  private refreshAt_ = 0;
  private retryTimer_: unknown;
  /** `pause()` holds attempts back; `owed`: one is due at `resume()`. */
  private paused_?: boolean;
  private owed_?: boolean;
  /** The current link's connect timeout, until `connect` is accepted. */
  private connectTimer_: unknown;
  /**
   * When the current link counts as stable (`reconnect.stableAfter` after it was accepted): lost
   * after that, the attempt counters start again. A time, not a timer: an idle client holds none.
   */
  private stableAt_ = 0;
  /** Every request in flight and every app operation waiting for a connection. */
  private readonly ops_: Operations;
  private readonly subs_: Subscriptions;
  /** Stream positions and unsent publishes in `storage` (none without). */
  private readonly saved_?: SavedState;
  /** Online-count watches, made on the first `onlineCount` (most clients never watch one). */
  private presence_?: Presence;
  /** Heartbeat ticks since the last inbound frame, and the heartbeat group judging the link (see heartbeat.ts). */
  idle_ = 0;
  beats_?: Watched['beats_'];
  /** Saved stream positions and publishes, read at creation; the first connect waits for it (then dropped). */
  private restored_?: Promise<void>;

  constructor(options: ClientOptions) {
    super();
    const o = (this.o_ = resolveOptions(options));
    this.timers_ = o.timers_;
    this.tokenFn_ = typeof o.token_ == 'function';
    this.ops_ = new Operations(o.timers_, o.outboxSize_, this);
    this.subs_ = new Subscriptions(this);
    if (o.storage_) {
      this.saved_ = new SavedState(o.storage_, `sdk-realtime:${o.app_}:`, this.subs_, this.ops_, (e) => this.fail_('internal', 'storage failed', e));
    }
    this.restored_ = this.restore_();
  }

  // ------------------------------------------------------------------ public API

  get state(): ConnectionState {
    return this.snapshot_.state;
  }

  /**
   * Bound functions, so `useSyncExternalStore(client.subscribeState, client.getSnapshot)` works
   * unbound; made on first read and kept (the same function every time), not per client up front.
   */
  get subscribeState(): (listener: () => void) => () => void {
    return this.subscribeState_ || (this.subscribeState_ = (listener) => this.on('state', listener));
  }
  get getSnapshot(): () => ConnectionSnapshot {
    return this.getSnapshot_ || (this.getSnapshot_ = () => this.snapshot_);
  }
  private subscribeState_?: (listener: () => void) => () => void;
  private getSnapshot_?: () => ConnectionSnapshot;

  connect(): void {
    if (this.link_ || this.owed_) return;
    join(this.o_.environment_, this);
    if (this.paused_) this.hold_();
    else void this.open_();
  }

  pause(): void {
    if (this.paused_) return;
    this.paused_ = true;
    if (this.retryTimer_ === undefined) return;
    this.timers_.clearTimeout(this.retryTimer_);
    this.retryTimer_ = undefined;
    this.hold_();
  }

  resume(): void {
    if (!this.paused_) return;
    this.paused_ = false;
    if (!this.owed_) return;
    this.owed_ = false;
    const timers = this.timers_;
    // Not before a server's `retryAfter`.
    this.retryTimer_ = timers.setTimeout(() => this.open_(), Math.max(0, this.notBefore_ - timers.now()));
  }

  close(): void {
    if (this.snapshot_.state == 'closed') return;
    if (this.ready_) this.disconnected_(1000, 'client closed', false);
    this.finish_('client closed');
  }

  subscribe(topic: string, handler: MessageHandler<never>, opts?: SubscribeOptions): Subscription {
    return this.subs_.add_(topic, handler as MessageHandler, opts);
  }

  publish(topic: string, data: unknown, opts?: PublishOptions): Promise<PublishResult> {
    return this.enqueue_({ t: 'pub', topic, data, key: opts?.key ?? randomId() }, opts?.timeout);
  }

  request<R = unknown>(method: string, params?: unknown, opts?: RequestOptions): Promise<R> {
    return this.enqueue_({ t: 'rpc', method, params }, opts?.timeout);
  }

  onlineCount(topic: string, handler: (count: OnlineCount) => void): () => void {
    return (this.presence_ || (this.presence_ = new Presence(this))).add_(topic, handler);
  }

  // ------------------------------------------------------------------ hooks of subscriptions and presence

  /** App callbacks (listeners, handlers) never throw into the client: what they throw is reported, except from an `error` listener (it would loop). */
  protected override thrown_(error: unknown, type: keyof ClientEvents | undefined): void {
    if (type != 'error') this.fail_('handler', 'handler threw', error);
  }

  sub_(topic: string): void {
    if (this.ready_) this.sendSub_(topic);
  }

  unsub_(topic: string): void {
    if (this.ready_) this.call_({ t: 'unsub', topic }, noop);
  }

  watch_(topic: string): void {
    if (this.ready_) this.sendWatch_(topic);
  }

  unwatch_(topic: string): void {
    if (this.ready_) this.call_({ t: 'unwatch', topic }, noop);
  }

  // ------------------------------------------------------------------ errors and state

  /** Report an error event; `closed` never is one: closing is no failure (a restored publish stays saved). */
  private report_(e: RealtimeError): void {
    if (e.code != 'closed') this.emit_('error', e);
  }

  /** Report a new error. */
  fail_(code: ErrorCode, message: string, cause?: unknown): void {
    this.report_(new RealtimeError(code, message, cause));
  }

  private setState_(state: ConnectionState, reason?: string): void {
    const prev = this.snapshot_.state;
    if (prev == state) return;
    this.snapshot_ = snapshotOf(state, reason);
    this.emit_('state', { state, prev, reason });
  }

  // ------------------------------------------------------------------ requests on the link

  private send_(frame: string): void {
    this.link_?.conn_?.send(frame);
  }

  /** Send an internal request on the current link; its reply goes to `ok`; failures are reported. */
  private call_(
    frame: WithoutId<Exclude<ClientFrame, { t: 'ping' | 'pong' }>>,
    ok: (r: never) => void,
    no: (e: RealtimeError) => void = (e) => this.report_(e),
    timeout = this.o_.requestTimeout_,
  ): void {
    this.send_(encodeFrame({ ...frame, id: this.ops_.request_({ resolve_: ok, reject_: no }, timeout) } as ClientFrame));
  }

  /**
   * A failed subscribe: a temporary failure (`rate_limited`, `timeout`, `internal`, `unavailable`)
   * is retried on the same link after a jittered backoff, and never before the server's
   * `retryAfter`; any other ends the subscription (`onError`, and `error`).
   */
  private subFailed_(topic: string, e: RealtimeError, tries: number): void {
    if (!/^(rate_limited|timeout|internal|unavailable)$/.test(e.code)) {
      this.subs_.refuse_(topic, e);
      return this.report_(e);
    }
    const l = this.link_;
    this.timers_.setTimeout(
      () => l == this.link_ && this.ready_ && this.subs_.topics_.has(topic) && this.sendSub_(topic, tries + 1),
      Math.max(clamp(e.retryAfter, RETRY_AFTER_BOUND), backoffDelay(tries + 1, this.o_.reconnect_ || SUB_RETRY, this.o_.random_)),
    );
  }

  private sendSub_(topic: string, tries = 0): void {
    const since = this.subs_.positions_.get(topic);
    this.call_(
      { t: 'sub', topic, since },
      (r: SubscribeResult) => this.subs_.recover_(topic, r, since),
      (e) => this.subFailed_(topic, e, tries),
    );
  }

  /** Many topics in one `subs` frame (one frame of the server's rate limit), each answered on its own. */
  private sendSubs_(topics: string[]): void {
    const positions = this.subs_.positions_;
    const since = topics.map((topic) => positions.get(topic));
    this.call_(
      { t: 'subs', subs: topics.map((topic, i) => ({ topic, since: since[i] })) },
      // A topic without a result (an error, or a reply missing it) is failed with its error or as `internal`.
      (r: SubscribeManyResult) =>
        topics.forEach((topic, i) =>
          own(r.results, topic)
            ? this.subs_.recover_(topic, r.results[topic]!, since[i])
            : this.subFailed_(topic, fromWire((own(r.errors, topic) && r.errors[topic]) || { code: 'internal', message: '' }), 0),
        ),
      (e) => topics.forEach((topic) => this.subFailed_(topic, e, 0)),
    );
  }

  private sendWatch_(topic: string): void {
    const presence = this.presence_!;
    this.call_({ t: 'watch', topic }, (r: OnlineCount) => presence.update_(topic, r), (e) => {
      presence.watched_.delete(topic);
      this.report_(e);
    });
  }

  // ------------------------------------------------------------------ app operations (outbox)

  private sendOp_(op: Op): void {
    this.send_(this.ops_.wire_(op));
  }

  // ------------------------------------------------------------------ hooks of operations and saved state

  publishesChanged_(): void {
    this.saved_?.save_();
  }



  /** Track an operation from the call to its reply; sent now when connected, else queued. */
  private enqueue_(frame: AppFrame, timeout = this.ready_ ? this.o_.requestTimeout_ : this.o_.outboxTimeout_): Promise<never> {
    return new Promise<never>((resolve, reject) => {
      // Encoded once with `id` last, so each send only splices in the per-link id.
      const body = encodeFrame({ ...frame, id: 0 } as ClientFrame);
      const op: Op = { frame_: frame, body_: body, resolve_: resolve, reject_: reject };
      const refused =
        this.snapshot_.state == 'closed'
          ? new RealtimeError('not_connected', 'client closed')
          : isOver(body, this.maxFrame_)
            ? new RealtimeError('too_large', `frame over ${this.maxFrame_} bytes`)
            : this.ops_.add_(op, this.timers_.now() + timeout, !this.ready_);
      // Rejected only: a failure with a promise reaches the app once, there.
      if (refused) reject(refused);
      else if (this.ready_) this.sendOp_(op);
    });
  }

  /**
   * At creation (so nothing is saved over it first): take the saved stream positions and queue
   * the saved publishes.
   */
  private async restore_(): Promise<void> {
    for (const { deadline, ...frame } of (await this.saved_?.load_()) ?? []) {
      // No promise: failures are reported (`closed` is not: the publish stays saved for the next session).
      this.ops_.add_({ frame_: frame, body_: encodeFrame({ ...frame, id: 0 }), resolve_: noop, reject_: (e) => this.report_(e) }, deadline, false);
    }
  }

  // ------------------------------------------------------------------ connection

  private async open_(): Promise<void> {
    this.retryTimer_ = undefined;
    const l = new Link(this);
    this.link_ = l;
    if (this.snapshot_.state != 'reconnecting') this.setState_('connecting');
    try {
      await this.restored_;
      this.restored_ = undefined;
      l.token_ = this.tokenFn_ ? await (this.o_.token_ as () => string | Promise<string>)() : (this.o_.token_ as string | undefined);
    } catch (error) {
      return this.abort_(l, 'unauthorized', 'token function failed', 1006, error);
    }
    if (this.link_ != l) return;
    this.connectTimer_ = this.timers_.setTimeout(
      () => this.abort_(l, 'timeout', 'connect timeout', 4000 /* CloseCode.HandshakeTimeout */),
      this.o_.connectTimeout_,
    );
    l.conn_ = this.o_.transport_(this.o_.url_, l);
    if (l.dead_) l.conn_.close();
  }

  /** The transport of `l` opened: send `connect`. */
  opened_(l: Link): void {
    const o = this.o_;
    const streams = this.subs_.personal_();
    // Refused, or an answer the client cannot use: this attempt ends, reported once.
    const refused = (e: RealtimeError) => {
      this.report_(e);
      this.drop_(l, { code: REFUSAL[e.code] ?? 1011, reason: e.message, retryAfter: e.retryAfter });
    };
    this.call_(
      { t: 'connect', v: PROTOCOL_VERSION, app: o.app_, token: l.token_, device: o.deviceId_, streams },
      (r: ConnectResult) => !l.dead_ && (usable(r) ? this.connected_(r, streams) : refused(new RealtimeError('bad_frame', 'bad connect reply'))),
      refused,
      // No deadline of its own: `connectTimeout` bounds the handshake (and no timer is left armed after it).
      Infinity,
    );
  }

  private connected_(r: ConnectResult, sent: Record<string, StreamPosition> = {}): void {
    const timers = this.timers_;
    const reconnect = this.o_.reconnect_;
    const subs = this.subs_;
    timers.clearTimeout(this.connectTimer_);
    this.connectTimer_ = undefined;
    this.maxFrame_ = clamp(r.maxFrame, MAX_FRAME_BOUND);
    if (this.o_.heartbeat_ !== false) watch(this, timers, clamp(r.ping, PING_BOUND) + this.o_.heartbeat_);
    // Only this connection's own personal streams, looked up by name: the size of `streams` does not matter.
    const granted = [r.user && 'user:' + r.user, r.device && 'device:' + r.device].filter((s): s is string => !!s && !!r.streams[s]);
    // None (an anonymous connection): the shared empty list, not one of its own.
    subs.granted_ = granted.length ? granted : NO_STREAMS;
    for (const s of granted) {
      try {
        subs.recover_(s, r.streams[s]!, sent[s]);
      } catch (error) {
        this.fail_('bad_frame', 'bad connect result', error);
      }
    }
    // Owed to the new link, in this order: subscriptions (in `subs` frames where the server takes
    // them), watches, then the outbox.
    const topics = [...subs.topics_.keys()];
    const batch = topics.length > 1 ? clamp(r.batch, BATCH_BOUND) : 0;
    if (batch) for (let i = 0; i < topics.length; i += batch) this.sendSubs_(topics.slice(i, i + batch));
    else for (const topic of topics) this.sendSub_(topic);
    for (const topic of this.presence_?.watched_.keys() || []) this.sendWatch_(topic);
    for (const op of this.ops_.app_ || []) if (op.id === undefined) this.sendOp_(op);
    this.ready_ = true;
    if (reconnect) this.stableAt_ = timers.now() + reconnect.stableAfter;
    this.setState_('connected');
    this.emit_('connected', { client: r.client, user: r.user, device: r.device, reconnected: !!this.everConnected_ });
    this.everConnected_ = true;
  }

  /** One inbound frame of the live link `l`. */
  frame_(l: Link, data: string | ArrayBuffer): void {
    this.idle_ = 0;
    const d = decodeServerFrame(data, this.o_.maxInboundFrame_);
    if (!d.ok) {
      // A malformed reply still ends the request it names (a connect attempt ends at once); anything else is reported.
      const raw = d.raw;
      if (!(raw?.t == 'reply' && this.ops_.settle_({ id: raw.id, error: d.error } as ReplyFrame))) this.report_(fromWire(d.error));
      return;
    }
    const f = d.frame;
    try {
      switch (f.t) {
        case 'msg':
          return this.subs_.deliver_(f);
        case 'reply':
          return void this.ops_.settle_(f);
        case 'ping':
          return this.send_(PONG);
        case 'count':
          return this.presence_?.update_(f.topic, f);
        case 'error':
          return this.report_(fromWire(f.error));
        case 'expired':
          return void this.refresh_();
        case 'close':
          return this.drop_(l, f);
      }
    } catch (error) {
      // Only a reply whose result is malformed gets here: app handlers are guarded.
      this.fail_('bad_frame', `bad ${f.t}`, error);
    }
  }

  /** The token expired on a live link: send a fresh one, keeping the link and its subscriptions. */
  private async refresh_(): Promise<void> {
    const timers = this.timers_;
    if (timers.now() < this.refreshAt_) return;
    this.refreshAt_ = timers.now() + REFRESH_INTERVAL;
    try {
      // A fixed token cannot be refreshed: fails like a token function that threw nothing.
      if (!this.tokenFn_) throw undefined;
      const token = await (this.o_.token_ as () => string | Promise<string>)();
      this.call_({ t: 'refresh', token }, noop, (e) => this.fail_('token_expired', e.message, e));
    } catch (error) {
      this.fail_('token_expired', 'token refresh failed', error);
    }
  }

  /** Stop everything tied to the current link (timers, heartbeat); the caller then drains the pending replies. */
  private unlink_(l: Link, reason: string): void {
    l.dead_ = true;
    this.ready_ = false;
    this.subs_.offline_();
    this.saved_?.save_();
    this.timers_.clearTimeout(this.connectTimer_);
    unwatch(this);
    l.conn_?.close(1000, reason);
  }

  private disconnected_(code: number, reason: string, willReconnect: boolean, delay?: number): void {
    this.emit_('disconnected', { code, reason, willReconnect, delay });
  }

  /** The live link `l` failed on the client's side: report why (`code`, `reason`, `cause`) and end it with `closeCode`. */
  private abort_(l: Link, code: ErrorCode, reason: string, closeCode: number, cause?: unknown): void {
    if (l.dead_ || this.link_ != l) return;
    this.fail_(code, reason, cause);
    this.drop_(l, { code: closeCode, reason });
  }

  /** End `l` (the first end wins) and decide: reconnect after a wait, or `closed`. */
  drop_(l: Link, end: LinkEnd): void {
    if (l.dead_ || this.link_ != l) return;
    const timers = this.timers_;
    const reconnect = this.o_.reconnect_;
    const { code, reason } = end;
    const lost = new RealtimeError('transport', `connection lost: ${reason}`);
    this.unlink_(l, reason);
    this.ops_.lost_(lost);
    // Refusals in a row also count until the link proved stable: accept-then-4100 cannot loop at once.
    if (this.stableAt_ && timers.now() >= this.stableAt_) this.attempt_ = this.refusals_ = 0;
    this.stableAt_ = 0;
    this.refusals_ = code == UNAUTHORIZED ? this.refusals_ + 1 : 0;
    const exhausted = reconnect && this.attempt_ >= reconnect.maxAttempts;
    if (!reconnect || exhausted || !mayReconnect(end, this.tokenFn_, this.refusals_)) {
      this.disconnected_(code, reason, false);
      return this.finish_(exhausted ? 'reconnect attempts exhausted' : reason || `closed with ${code}`);
    }
    const wait = clamp(end.retryAfter, RETRY_AFTER_BOUND);
    this.notBefore_ = timers.now() + wait;
    if (this.paused_) {
      this.disconnected_(code, reason, true);
      return this.hold_();
    }
    const delay = this.refusals_ ? 0 : Math.min(MAX_DELAY, Math.max(wait, backoffDelay(++this.attempt_, reconnect, this.o_.random_)));
    this.disconnected_(code, reason, true, delay);
    this.setState_('reconnecting', reason);
    this.retryTimer_ = timers.setTimeout(() => this.open_(), delay);
  }

  /** A connection is owed and held back by `pause()`. */
  private hold_(): void {
    this.owed_ = true;
    this.setState_(this.everConnected_ ? 'reconnecting' : 'connecting', 'paused');
  }

  /** The app came to the foreground: retry now, and judge the link against the clock (timers may have been frozen). */
  visible_(): void {
    this.wake_();
    if (this.ready_ && overdue(this, this.timers_.now())) this.heartbeatDead_();
  }

  /** No inbound frame for the whole heartbeat window: the link is half-open. */
  heartbeatDead_(): void {
    if (this.link_) this.abort_(this.link_, 'transport', 'heartbeat timeout', 1006);
  }

  /** The app went to the background: save now (it may be killed there). */
  hidden_(): void {
    this.saved_?.save_();
  }

  /** Retry now (network back, app visible) instead of waiting out the backoff. */
  wake_(): void {
    const timers = this.timers_;
    if (this.retryTimer_ !== undefined && timers.now() >= this.notBefore_) {
      timers.clearTimeout(this.retryTimer_);
      void this.open_();
    }
  }

  private finish_(reason: string): void {
    const closed = new RealtimeError('closed', `client closed: ${reason}`);
    if (this.link_ && !this.link_.dead_) this.unlink_(this.link_, reason);
    this.timers_.clearTimeout(this.retryTimer_);
    this.link_ = this.retryTimer_ = undefined;
    this.paused_ = this.owed_ = false;
    // Internal requests (connect, sub, watch, unsub, ...) end silently; the app's operations
    // reject with `closed`; publishes saved for a later session stay saved.
    this.saved_?.close_();
    this.ops_.failAll_(closed);
    leave(this.o_.environment_, this);
    this.attempt_ = this.refusals_ = 0;
    this.setState_('closed', reason);
  }
}

/** Snapshots without a reason, one per state for every client (frozen: they are shared). */
const plainSnapshots: { [S in ConnectionState]?: ConnectionSnapshot } = {};

/** The snapshot of `state`: a new object only when it carries a reason. */
function snapshotOf(state: ConnectionState, reason?: string): ConnectionSnapshot {
  return reason === undefined ? (plainSnapshots[state] ||= Object.freeze({ state })) : { state, reason };
}

/** Create a client. Validates `options` (a `TypeError` names the bad one); connects on `connect()`. */
export function createClient<Topics extends TopicMap = TopicMap>(options: ClientOptions): RealtimeClient<Topics> {
  return new Client(options) as RealtimeClient<Topics>;
}
