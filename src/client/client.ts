import { decodeServerFrame, encodeFrame, isObj, isOver } from '../protocol/codec';
import {
  DEFAULT_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type ErrorCode,
  type ClientFrame,
  type ConnectResult,
  type Publication,
  type PublishResult,
  type StreamPosition,
  type SubscribeManyResult,
  type SubscribeResult,
} from '../protocol/frames';
import type { TransportConnection } from '../transports/types';
import { backoffDelay } from '../util/backoff';
import { Emitter, type Listener } from '../util/emitter';
import { randomId } from '../util/ids';
import { MAX_DELAY } from '../util/timers';
import { RealtimeError, fromWire } from './errors';
import { Heartbeat } from './heartbeat';
import { BATCH_BOUND, MAX_FRAME_BOUND, PING_BOUND, REFRESH_INTERVAL, RETRY_AFTER_BOUND, clamp } from './limits';
import { resolveOptions, type ClientOptions } from './options';
import type { SchemaOutput, StandardSchemaV1 } from './schema';
import { createOutbox, type OutboxOp } from './outbox';
import { createPresence, type OnlineCount, type Presence } from './presence';
import { Requests, type Pending } from './requests';
import { UNAUTHORIZED, mayReconnect, type ConnectionSnapshot, type ConnectionState, type LinkEnd, type StateChange } from './state';
import {
  createSubscriptions,
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

/** One attempt at a connection: a transport link, dead once it ended. */
interface Link {
  conn?: TransportConnection;
  dead?: boolean;
}

/** A frame type without its per-link `id` (distributes over unions). */
type WithoutId<F> = F extends unknown ? Omit<F, 'id'> : never;

const PONG = encodeFrame({ t: 'pong' });

/** Close codes (4100, 4101, 4102) for a refused `connect` reply, so the close-code table decides what follows. */
// Null prototype: a server's code (`constructor`, `__proto__`) never finds an inherited value.
const REFUSAL: Record<string, number | undefined> = { __proto__: null, unauthorized: 4100, forbidden: 4101, bad_request: 4102 } as never;

const isStrOrNull = (v: unknown) => v === null || typeof v == 'string';
/** A `connect` result the client can act on (its numbers are clamped after). */
const usable = (r: ConnectResult) =>
  isObj(r) &&
  typeof r.client == 'string' &&
  isStrOrNull(r.user) &&
  isStrOrNull(r.device) &&
  typeof r.ping == 'number' &&
  typeof r.maxFrame == 'number' &&
  isObj(r.streams);

/** Create a client. Validates `options` (a `TypeError` names the bad one); connects on `connect()`. */
export function createClient<Topics extends TopicMap = TopicMap>(options: ClientOptions): RealtimeClient<Topics> {
  const o = resolveOptions(options);
  const { timers, token, reconnect } = o;
  const tokenFn = typeof token == 'function';

  // App callbacks (listeners, handlers) never throw into the client: what they throw is reported,
  // except from an `error` listener (it would loop).
  const emitter = new Emitter<ClientEvents>((error, type) => type != 'error' && fail('handler', 'handler threw', error));
  const guard = <A>(fn: ((arg: A) => void) | undefined, arg: A) => emitter.guard(fn, arg);
  // `closed` is never an `error` event: closing is no failure (a restored publish stays saved).
  const report = (e: RealtimeError) => e.code != 'closed' && emitter.emit('error', e);
  /** Report a new error. */
  const fail = (code: ErrorCode, message: string, cause?: unknown) => report(new RealtimeError(code, message, cause));

  let snapshot: ConnectionSnapshot = { state: 'idle' };
  const setState = (state: ConnectionState, reason?: string) => {
    const prev = snapshot.state;
    if (prev == state) return;
    snapshot = { state, reason };
    emitter.emit('state', { state, prev, reason });
  };

  let link: Link | undefined;
  /** The current link accepted `connect` and everything owed to it was sent. */
  let ready = false;
  let everConnected = false;
  /** Outbound limit: the default until the server states its own. */
  let maxFrame = DEFAULT_MAX_FRAME_BYTES;
  let attempt = 0;
  let refusals = 0;
  let notBefore = 0;
  /** No token refresh for an `expired` before this time. */
  let refreshAt = 0;
  let retryTimer: unknown;
  /** `pause()` holds attempts back; `owed`: one is due at `resume()`. */
  let paused = false;
  let owed = false;
  /** The current link's timer: the connect timeout until `connect` is accepted, then the stability timer. */
  let linkTimer: unknown;
  let unlisten: ((() => void) | undefined)[] = [];

  const requests = new Requests(timers);
  const send = (frame: string) => link?.conn?.send(frame);
  /** Send an internal request on the current link; its reply goes to `ok`; failures are reported. */
  const call = (frame: WithoutId<Exclude<ClientFrame, { t: 'ping' | 'pong' }>>, ok: (r: never) => void, no = report) =>
    send(encodeFrame({ ...frame, id: requests.add({ ok, fail: no, lost: noop }, o.requestTimeout) } as ClientFrame));
  const noop = () => {};

  const subs = createSubscriptions({
    guard,
    emit: (type, event) => emitter.emit(type, event as ClientEvents[typeof type]),
    sub: (topic) => ready && sendSub(topic),
    unsub: (topic) => ready && call({ t: 'unsub', topic }, noop),
  });
  const outbox = createOutbox({
    size: o.outboxSize,
    timers,
    storage: o.storage,
    key: `sdk-realtime:${o.app}:`,
    positions: subs.positions,
    report: (e) => fail('internal', 'storage failed', e),
  });

  /**
   * A failed subscribe: a temporary failure (`rate_limited`, `timeout`, `internal`, `unavailable`)
   * is retried on the same link after a jittered backoff, and never before the server's
   * `retryAfter`; any other ends the subscription (`onError`, and `error`).
   */
  const subFailed = (topic: string, e: RealtimeError, tries: number) => {
    if (!/^(rate_limited|timeout|internal|unavailable)$/.test(e.code)) {
      subs.refuse(topic, e);
      return report(e);
    }
    const l = link;
    timers.setTimeout(
      () => l == link && ready && subs.has(topic) && sendSub(topic, tries + 1),
      Math.max(clamp(e.retryAfter, RETRY_AFTER_BOUND), backoffDelay(tries + 1, reconnect || SUB_RETRY, o.random)),
    );
  };
  const sendSub = (topic: string, tries = 0) => {
    const since = subs.positions.get(topic);
    call({ t: 'sub', topic, since }, (r: SubscribeResult) => subs.recover(topic, r, since), (e) => subFailed(topic, e, tries));
  };
  /** Many topics in one `subs` frame (one frame of the server's rate limit), each answered on its own. */
  const sendSubs = (topics: string[]) => {
    const since = topics.map((topic) => subs.positions.get(topic));
    call(
      { t: 'subs', subs: topics.map((topic, i) => ({ topic, since: since[i] })) },
      // A topic without a result (an error, or a reply missing it) is failed with its error or as `internal`.
      (r: SubscribeManyResult) =>
        topics.forEach((topic, i) =>
          own(r.results, topic) ? subs.recover(topic, r.results[topic]!, since[i]) : subFailed(topic, fromWire((own(r.errors, topic) && r.errors[topic]) || { code: 'internal', message: '' }), 0),
        ),
      (e) => topics.forEach((topic) => subFailed(topic, e, 0)),
    );
  };

  /** Online-count watches, made on the first `onlineCount` (most clients never watch one). */
  let presence: Presence | undefined;
  const watches = () =>
    (presence ??= createPresence({
      guard,
      watch: (topic) => ready && sendWatch(topic),
      unwatch: (topic) => ready && call({ t: 'unwatch', topic }, noop),
    }));
  const sendWatch = (topic: string) =>
    call({ t: 'watch', topic }, (r: OnlineCount) => presence!.update(topic, r), (e) => {
      presence!.refuse(topic);
      report(e);
    });

  const heartbeat = new Heartbeat(timers, () => {
    const reason = 'heartbeat timeout';
    fail('transport', reason);
    if (link) drop(link, { code: 1006, reason });
  });

  const getToken = async () => (tokenFn ? (token as () => string | Promise<string>)() : (token as string | undefined));

  // ------------------------------------------------------------------ app operations (outbox)

  const sendOp = (op: OutboxOp) => {
    const pending: Pending = { ok: (r) => outbox.settle(op, undefined, r), fail: (e) => outbox.settle(op, e) };
    // A publish lost with the link stays in the outbox and is resent (same key) after reconnect.
    if (op.frame.t == 'pub') pending.lost = () => (op.sent = undefined);
    op.sent = requests.add(pending, 0);
    send(op.body.slice(0, -2) + op.sent + '}');
  };

  /** Track an operation from the call to its reply; sent now when connected, else queued. */
  const enqueue = (frame: OutboxOp['frame'], timeout = ready ? o.requestTimeout : o.outboxTimeout) =>
    new Promise<never>((resolve, reject) => {
      // Encoded once with `id` last, so each send only splices in the per-link id.
      const body = encodeFrame({ ...frame, id: 0 } as ClientFrame);
      const op: OutboxOp = { frame, body, deadline: timers.now() + timeout, resolve, reject };
      const refused =
        snapshot.state == 'closed'
          ? new RealtimeError('not_connected', 'client closed')
          : isOver(body, maxFrame)
            ? new RealtimeError('too_large', `frame over ${maxFrame} bytes`)
            : outbox.add(op, !ready);
      // Rejected only: a failure with a promise reaches the app once, there.
      if (refused) reject(refused);
      else if (ready) sendOp(op);
    });

  /**
   * At creation (so nothing is saved over it first): take the saved stream positions and queue
   * the saved publishes. The first connect waits for it.
   */
  const restored = (async () => {
    for (const { deadline, ...frame } of await outbox.load()) {
      // No promise: failures are reported (`closed` is not: the publish stays saved for the next session).
      outbox.add({ frame, body: encodeFrame({ ...frame, id: 0 }), deadline, resolve: noop, reject: report }, false);
    }
  })();

  // ------------------------------------------------------------------ connection

  const open = async () => {
    retryTimer = undefined;
    const l: Link = {};
    link = l;
    if (snapshot.state != 'reconnecting') setState('connecting');
    let tk: string | undefined;
    try {
      await restored;
      tk = await getToken();
    } catch (error) {
      const reason = 'token function failed';
      if (link == l) fail('unauthorized', reason, error);
      return drop(l, { code: 1006, reason });
    }
    if (link != l) return;
    linkTimer = timers.setTimeout(() => {
      const reason = 'connect timeout';
      fail('timeout', reason);
      drop(l, { code: 4000 /* CloseCode.HandshakeTimeout */, reason });
    }, o.connectTimeout);
    l.conn = o.transport(o.url, {
      onOpen() {
        if (l.dead) return;
        const streams = subs.personal();
        // Refused, or an answer the client cannot use: this attempt ends, reported once.
        const refused = (e: RealtimeError) => {
          report(e);
          drop(l, { code: REFUSAL[e.code] ?? 1011, reason: e.message, retryAfter: e.retryAfter });
        };
        call(
          { t: 'connect', v: PROTOCOL_VERSION, app: o.app, token: tk, device: o.deviceId, streams },
          (r: ConnectResult) =>
            !l.dead && (usable(r) ? onConnected(r, streams) : refused(new RealtimeError('bad_frame', 'bad connect reply'))),
          refused,
        );
      },
      onMessage: (data) => !l.dead && onFrame(l, data),
      onClose: (code, reason) => drop(l, { code, reason }),
      onError: (e) => !l.dead && fail('transport', 'transport error', e),
    });
    if (l.dead) l.conn.close();
  };

  const onConnected = (r: ConnectResult, sent: Record<string, StreamPosition> = {}) => {
    timers.clearTimeout(linkTimer);
    maxFrame = clamp(r.maxFrame, MAX_FRAME_BOUND);
    if (o.heartbeat !== false) heartbeat.start(clamp(r.ping, PING_BOUND) + o.heartbeat);
    // Only this connection's own personal streams, looked up by name: the size of `streams` does not matter.
    const granted = subs.granted;
    granted.clear();
    for (const s of [r.user && 'user:' + r.user, r.device && 'device:' + r.device]) {
      const res = s && r.streams[s];
      if (!res) continue;
      granted.add(s);
      try {
        subs.recover(s, res, sent[s]);
      } catch (error) {
        fail('bad_frame', 'bad connect result', error);
      }
    }
    // Owed to the new link, in this order: subscriptions (in `subs` frames where the server takes
    // them), watches, then the outbox.
    const topics = [...subs.topics()];
    const batch = topics.length > 1 ? clamp(r.batch, BATCH_BOUND) : 0;
    if (batch) for (let i = 0; i < topics.length; i += batch) sendSubs(topics.slice(i, i + batch));
    else topics.forEach((topic) => sendSub(topic));
    if (presence) for (const topic of presence.topics()) sendWatch(topic);
    for (const op of outbox.unsent()) sendOp(op);
    ready = true;
    // Refusals in a row also count until the link proved stable: accept-then-4100 cannot loop at once.
    if (reconnect) linkTimer = timers.setTimeout(() => (attempt = refusals = 0), reconnect.stableAfter);
    setState('connected');
    emitter.emit('connected', { client: r.client, user: r.user, device: r.device, reconnected: everConnected });
    everConnected = true;
  };

  const onFrame = (l: Link, data: string | ArrayBuffer) => {
    heartbeat.beat();
    const d = decodeServerFrame(data, o.maxInboundFrame);
    if (!d.ok) {
      // A malformed reply still ends the request it names (a connect attempt ends at once); anything else is reported.
      const raw = d.raw;
      return void ((raw?.t == 'reply' && requests.settle({ t: 'reply', id: raw.id as number, error: d.error })) || report(fromWire(d.error)));
    }
    const f = d.frame;
    try {
      switch (f.t) {
        case 'msg':
          return subs.deliver(f);
        case 'reply':
          return requests.settle(f);
        case 'ping':
          return send(PONG);
        case 'count':
          return presence?.update(f.topic, f);
        case 'error':
          return report(fromWire(f.error));
        case 'expired':
          return void refresh();
        case 'close':
          return drop(l, f);
      }
    } catch (error) {
      // Only a reply whose result is malformed gets here: app handlers are guarded.
      fail('bad_frame', `bad ${f.t}`, error);
    }
  };

  /** The token expired on a live link: send a fresh one, keeping the link and its subscriptions. */
  const refresh = async () => {
    if (timers.now() < refreshAt) return;
    refreshAt = timers.now() + REFRESH_INTERVAL;
    try {
      // A fixed token cannot be refreshed: fails like a token function that threw nothing.
      if (!tokenFn) throw undefined;
      call({ t: 'refresh', token: (await getToken())! }, noop, (e) => fail('token_expired', e.message, e));
    } catch (error) {
      fail('token_expired', 'token refresh failed', error);
    }
  };

  /** Stop everything tied to the current link (timers, heartbeat); the caller then drains the pending replies. */
  const unlink = (l: Link, reason: string) => {
    l.dead = true;
    ready = false;
    subs.offline();
    outbox.save();
    timers.clearTimeout(linkTimer);
    heartbeat.stop();
    l.conn?.close(1000, reason);
  };

  const disconnected = (code: number, reason: string, willReconnect: boolean, delay?: number) =>
    emitter.emit('disconnected', { code, reason, willReconnect, delay });

  /** End `l` (the first end wins) and decide: reconnect after a wait, or `closed`. */
  const drop = (l: Link, end: LinkEnd) => {
    if (l.dead || link != l) return;
    const { code, reason } = end;
    const lost = new RealtimeError('transport', `connection lost: ${reason}`);
    unlink(l, reason);
    requests.drain((p) => (p.lost ? p.lost() : p.fail(lost)));
    refusals = code == UNAUTHORIZED ? refusals + 1 : 0;
    const exhausted = reconnect && attempt >= reconnect.maxAttempts;
    if (!reconnect || exhausted || !mayReconnect(end, tokenFn, refusals)) {
      disconnected(code, reason, false);
      return finish(exhausted ? 'reconnect attempts exhausted' : reason || `closed with ${code}`);
    }
    const wait = clamp(end.retryAfter, RETRY_AFTER_BOUND);
    notBefore = timers.now() + wait;
    if (paused) {
      disconnected(code, reason, true);
      return hold();
    }
    const delay = refusals ? 0 : Math.min(MAX_DELAY, Math.max(wait, backoffDelay(++attempt, reconnect, o.random)));
    disconnected(code, reason, true, delay);
    setState('reconnecting', reason);
    retryTimer = timers.setTimeout(open, delay);
  };

  /** A connection is owed and held back by `pause()`. */
  const hold = () => {
    owed = true;
    setState(everConnected ? 'reconnecting' : 'connecting', 'paused');
  };

  /** Retry now (network back, app visible) instead of waiting out the backoff. */
  const wake = () => {
    if (retryTimer !== undefined && timers.now() >= notBefore) {
      timers.clearTimeout(retryTimer);
      void open();
    }
  };

  const finish = (reason: string) => {
    const closed = new RealtimeError('closed', `client closed: ${reason}`);
    if (link && !link.dead) unlink(link, reason);
    timers.clearTimeout(retryTimer);
    link = retryTimer = undefined;
    paused = owed = false;
    // Internal requests (connect, sub, watch, unsub, ...) end silently; the app's operations reject with `closed`.
    requests.drain(noop);
    outbox.failAll(closed);
    for (const u of unlisten) u?.();
    unlisten = [];
    attempt = refusals = 0;
    setState('closed', reason);
  };

  return {
    get state() {
      return snapshot.state;
    },
    connect() {
      if (link || owed) return;
      const env = o.environment;
      unlisten = [
        env.onOnline(wake),
        env.onVisible(() => {
          wake();
          if (ready) heartbeat.check();
        }),
        env.onHidden?.(outbox.save),
      ];
      if (paused) hold();
      else void open();
    },
    pause() {
      if (paused) return;
      paused = true;
      if (retryTimer === undefined) return;
      timers.clearTimeout(retryTimer);
      retryTimer = undefined;
      hold();
    },
    resume() {
      if (!paused) return;
      paused = false;
      if (!owed) return;
      owed = false;
      // Not before a server's `retryAfter`.
      retryTimer = timers.setTimeout(open, Math.max(0, notBefore - timers.now()));
    },
    close() {
      if (snapshot.state == 'closed') return;
      if (ready) disconnected(1000, 'client closed', false);
      finish('client closed');
    },
    on: (event, listener) => emitter.on(event, listener),
    subscribe: (topic: string, handler: MessageHandler<never>, opts?: SubscribeOptions) => subs.add(topic, handler as MessageHandler, opts),
    publish: (topic, data, opts) => enqueue({ t: 'pub', topic, data, key: opts?.key ?? randomId() }, opts?.timeout),
    request: (method, params, opts) => enqueue({ t: 'rpc', method, params }, opts?.timeout),
    onlineCount: (topic, handler) => watches().add(topic, handler),
    subscribeState: (listener) => emitter.on('state', listener),
    getSnapshot: () => snapshot,
  };
}
