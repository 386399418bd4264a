import { decodeServerFrame, encodeFrame, utf8Length } from '../protocol/codec';
import {
  CloseCode,
  ErrorCode,
  PROTOCOL_VERSION,
  type ClientFrame,
  type ConnectResult,
  type Publication,
  type PublishResult,
  type StreamPosition,
  type SubscribeResult,
} from '../protocol/frames';
import type { TransportConnection } from '../transports/types';
import { backoffDelay } from '../util/backoff';
import { createEmitter, type Listener } from '../util/emitter';
import { randomId } from '../util/ids';
import { RealtimeError } from './errors';
import { createHeartbeat } from './heartbeat';
import { resolveOptions, type ClientOptions } from './options';
import { createOutbox, type OutboxOp } from './outbox';
import { createPresence, type OnlineCount } from './presence';
import { createRequests, type Pending } from './requests';
import { mayReconnect, type ConnectionSnapshot, type ConnectionState, type LinkEnd, type StateChange } from './state';
import {
  createSubscriptions,
  type GapInfo,
  type MessageHandler,
  type SubscribeOptions,
  type SubscribedInfo,
  type Subscription,
} from './subscriptions';

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
  /** Anything that went wrong without being a rejected promise. Never thrown. */
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

export interface RealtimeClient {
  /** Current connection state. */
  readonly state: ConnectionState;
  /** Start connecting (nothing happens before). Idempotent; after `closed` it starts again. */
  connect(): void;
  /** Close for good: state `closed`, waiting publishes/requests reject with `closed`. Idempotent. */
  close(): void;
  /** Listen to an event; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void;
  /** Receive the messages of `topic` (one server subscription however many handlers). */
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

/** One attempt at a connection: a transport link and how it ended. */
interface Link {
  conn?: TransportConnection;
  dead?: boolean;
}

/** A frame type without its per-link `id` (distributes over unions). */
type WithoutId<F> = F extends unknown ? Omit<F, 'id'> : never;

const PONG = encodeFrame({ t: 'pong' });

/** Close codes for a refused `connect` reply, so the close-code table decides what follows. */
const REFUSAL: Record<string, number> = {
  [ErrorCode.Unauthorized]: CloseCode.Unauthorized,
  [ErrorCode.Forbidden]: CloseCode.Forbidden,
  [ErrorCode.BadRequest]: CloseCode.BadConnect,
};

/** Create a client. Validates `options` (a `TypeError` names the bad one); connects on `connect()`. */
export function createClient(options: ClientOptions): RealtimeClient {
  const o = resolveOptions(options);
  const { timers, token, reconnect } = o;
  const err = (code: string, message: string, cause?: unknown) =>
    new RealtimeError(code, message, cause === undefined ? undefined : { cause });

  const emitter = createEmitter<ClientEvents>((error, type) => {
    // An `error` listener that throws is not reported again (it would loop).
    if (type !== 'error') report(err(ErrorCode.Handler, `"${String(type)}" listener threw`, error));
  });
  const report = (e: RealtimeError) => emitter.emit('error', e);
  const guard = <A>(f: ((arg: A) => void) | undefined, arg: A) => {
    if (!f) return;
    try {
      f(arg);
    } catch (error) {
      report(err(ErrorCode.Handler, 'handler threw', error));
    }
  };

  let snapshot: ConnectionSnapshot = { state: 'idle' };
  const setState = (state: ConnectionState, reason?: string) => {
    const prev = snapshot.state;
    if (prev === state) return;
    snapshot = reason === undefined ? { state } : { state, reason };
    emitter.emit('state', reason === undefined ? { state, prev } : { state, prev, reason });
  };

  let link: Link | undefined;
  /** The current link accepted `connect` and everything owed to it was sent. */
  let ready = false;
  let everConnected = false;
  let maxFrame = o.maxFrame;
  let attempt = 0;
  let refusals = 0;
  let notBefore = 0;
  let retryTimer: unknown;
  let connectTimer: unknown;
  let stableTimer: unknown;
  let unlisten: (() => void)[] = [];
  let restored: Promise<void> | undefined;
  const clear = (t: unknown) => t !== undefined && timers.clearTimeout(t);

  const requests = createRequests(timers);
  const outbox = createOutbox({
    size: o.outboxSize,
    timers,
    storage: o.storage,
    key: `sdk-realtime:${o.app}:outbox`,
    report: (e) => report(err(ErrorCode.Internal, 'storage failed', e)),
  });

  const send = (frame: string) => link?.conn?.send(frame);
  /** Send an internal request on the current link; its reply goes to `ok`, failures are reported. */
  const call = (frame: WithoutId<Exclude<ClientFrame, { t: 'ping' | 'pong' }>>, ok: (r: unknown) => void, fail = report) => {
    const id = requests.add({ ok, fail, lost() {} }, o.requestTimeout);
    send(encodeFrame({ ...frame, id } as ClientFrame));
  };
  const tooLarge = (s: string) => s.length > maxFrame || (s.length * 3 > maxFrame && utf8Length(s) > maxFrame);

  const subs = createSubscriptions({
    guard,
    message: (m) => emitter.has('message') && emitter.emit('message', m),
    subscribed: (info) => emitter.emit('subscribed', info),
    gap: (info) => emitter.emit('gap', info),
    sub: (topic) => ready && sendSub(topic),
    unsub: (topic) => ready && call({ t: 'unsub', topic }, () => {}),
  });
  const sendSub = (topic: string) => {
    const since = subs.since(topic);
    call(
      since ? { t: 'sub', topic, since } : { t: 'sub', topic },
      (r) => subs.recover(topic, r as SubscribeResult, since),
      (e) => {
        subs.refuse(topic, e);
        report(err(e.code, `subscribe "${topic}": ${e.message}`, e));
      },
    );
  };

  const presence = createPresence({
    guard,
    watch: (topic) => ready && sendWatch(topic),
    unwatch: (topic) => ready && call({ t: 'unwatch', topic }, () => {}),
  });
  const sendWatch = (topic: string) =>
    call(
      { t: 'watch', topic },
      (r) => presence.update(topic, r as OnlineCount),
      (e) => {
        presence.refuse(topic);
        report(err(e.code, `watch "${topic}": ${e.message}`, e));
      },
    );

  const heartbeat = createHeartbeat(timers, () => {
    report(err(ErrorCode.Transport, 'heartbeat timeout: no frame from the server'));
    if (link) drop(link, { code: 1006, reason: 'heartbeat timeout' });
  });

  const getToken = async (): Promise<string | undefined> => {
    const t = typeof token === 'function' ? await token() : token;
    if (t !== undefined && typeof t !== 'string') throw new TypeError('token function must return a string');
    return t;
  };

  // ------------------------------------------------------------------ app operations (outbox)

  const sendOp = (op: OutboxOp) => {
    const pending: Pending = {
      ok: (r) => outbox.settle(op, undefined, r),
      fail: (e) => outbox.settle(op, e),
    };
    // A publish lost with the link stays in the outbox and is resent (same key) after reconnect.
    if (op.frame.t === 'pub') pending.lost = () => (op.sent = undefined);
    op.sent = requests.add(pending, 0);
    send(op.body.slice(0, -2) + op.sent + '}');
  };

  const enqueue = <R>(frame: OutboxOp['frame'], timeout: number | undefined, onResult = (_: R) => {}, onError = report) =>
    new Promise<R>((resolve, reject) => {
      const done = (e: RealtimeError) => {
        onError(e);
        reject(e);
      };
      if (snapshot.state === 'closed') return done(err(ErrorCode.NotConnected, 'the client is closed'));
      // Encoded once, with `id` last so each send only splices in the per-link id.
      const body = encodeFrame({ ...frame, id: 0 } as ClientFrame);
      if (tooLarge(body)) return done(err(ErrorCode.TooLarge, `${frame.t} frame exceeds ${maxFrame} bytes`));
      const op: OutboxOp = {
        frame,
        body,
        deadline: timers.now() + (timeout ?? (ready ? o.requestTimeout : o.outboxTimeout)),
        resolve: (r) => {
          onResult(r as R);
          resolve(r as R);
        },
        reject: (e) => {
          if (e.code === ErrorCode.Timeout || e.code === ErrorCode.OutboxFull) onError(e);
          reject(e);
        },
      };
      const full = outbox.add(op, !ready);
      if (full) return done(full);
      if (ready) sendOp(op);
    });

  // ------------------------------------------------------------------ connection

  const open = async () => {
    retryTimer = undefined;
    const l: Link = {};
    link = l;
    if (snapshot.state !== 'reconnecting') setState('connecting');
    let tk: string | undefined;
    try {
      await (restored ??= restore());
      tk = await getToken();
    } catch (error) {
      if (link !== l) return;
      report(err(ErrorCode.Unauthorized, 'token function failed', error));
      return drop(l, { code: 1006, reason: 'token function failed' });
    }
    if (link !== l) return;
    connectTimer = timers.setTimeout(() => {
      report(err(ErrorCode.Timeout, `no connect reply within ${o.connectTimeout} ms`));
      drop(l, { code: CloseCode.HandshakeTimeout, reason: 'connect timeout' });
    }, o.connectTimeout);
    l.conn = o.transport(o.url, {
      onOpen: () => {
        if (l.dead) return;
        const streams = subs.personal();
        const sent: Record<string, StreamPosition> = streams ?? {};
        call(
          { t: 'connect', v: PROTOCOL_VERSION, app: o.app, token: tk, device: o.deviceId, streams },
          (r) => !l.dead && onConnected(r as ConnectResult, sent),
          (e) => {
            report(e);
            drop(l, { code: REFUSAL[e.code] ?? 1011, reason: e.message, retryAfter: e.retryAfter });
          },
        );
      },
      onMessage: (data) => !l.dead && onFrame(l, data),
      onClose: (code, reason) => drop(l, { code, reason }),
      onError: (e) => !l.dead && report(err(ErrorCode.Transport, 'transport error', e)),
    });
    if (l.dead) l.conn.close();
  };

  const onConnected = (r: ConnectResult, sent: Record<string, StreamPosition>) => {
    clear(connectTimer);
    refusals = 0;
    if (typeof r.maxFrame === 'number' && r.maxFrame > 0) maxFrame = r.maxFrame;
    if (o.heartbeat !== false && r.ping > 0) heartbeat.start(r.ping + o.heartbeat);
    try {
      for (const s in r.streams) subs.recover(s, r.streams[s]!, sent[s]);
    } catch (error) {
      report(err(ErrorCode.BadFrame, 'malformed connect result', error));
    }
    // Owed to the new link, in this order: subscriptions, watches, then the outbox.
    for (const topic of subs.topics()) sendSub(topic);
    for (const topic of presence.topics()) sendWatch(topic);
    for (const op of outbox.unsent()) sendOp(op);
    ready = true;
    if (reconnect) stableTimer = timers.setTimeout(() => (attempt = 0), reconnect.stableAfter);
    setState('connected');
    emitter.emit('connected', { client: r.client, user: r.user, device: r.device, reconnected: everConnected });
    everConnected = true;
  };

  const onFrame = (l: Link, data: string | ArrayBuffer) => {
    heartbeat.beat();
    const d = decodeServerFrame(data, o.maxInboundFrame);
    if (!d.ok) return report(err(d.error.code, d.error.message));
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
          return presence.update(f.topic, f);
        case 'error':
          return report(err(f.error.code, f.error.message));
        case 'expired':
          return refresh();
        case 'close':
          return drop(l, f);
      }
    } catch (error) {
      // Only a reply whose result is malformed gets here: app handlers are guarded.
      report(err(ErrorCode.BadFrame, `bad ${f.t} frame`, error));
    }
  };

  const refresh = () =>
    getToken().then(
      (tk) =>
        typeof token === 'function' && tk
          ? call({ t: 'refresh', token: tk }, () => {}, (e) => report(err(ErrorCode.TokenExpired, `refresh refused: ${e.message}`, e)))
          : report(err(ErrorCode.TokenExpired, 'token expired and no token function to refresh it')),
      (e) => report(err(ErrorCode.TokenExpired, 'token function failed', e)),
    );

  /** End `l` (first end wins) and decide: reconnect after a wait, or `closed`. */
  const drop = (l: Link, end: LinkEnd) => {
    if (l.dead || link !== l) return;
    l.dead = true;
    ready = false;
    clear(connectTimer);
    clear(stableTimer);
    heartbeat.stop();
    l.conn?.close(1000, end.reason);
    subs.unconfirm();
    requests.drain((p) => (p.lost ? p.lost() : p.fail(err(ErrorCode.Transport, `connection lost: ${end.reason}`))));
    refusals = end.code === CloseCode.Unauthorized ? refusals + 1 : 0;
    const retry =
      reconnect && attempt < reconnect.maxAttempts && mayReconnect(end, typeof token === 'function', refusals);
    if (!retry) {
      emitter.emit('disconnected', { code: end.code, reason: end.reason, willReconnect: false });
      const why = reconnect && attempt >= reconnect.maxAttempts ? 'reconnect attempts exhausted' : end.reason;
      return finish(why || `closed with ${end.code}`);
    }
    attempt++;
    const wait = end.retryAfter ?? 0;
    const delay = refusals ? 0 : Math.max(wait, backoffDelay(attempt, reconnect, o.random));
    notBefore = timers.now() + wait;
    emitter.emit('disconnected', { code: end.code, reason: end.reason, willReconnect: true, delay });
    setState('reconnecting', end.reason);
    retryTimer = timers.setTimeout(open, delay);
  };

  /** Retry now (network back, app visible) instead of waiting out the backoff. */
  const wake = () => {
    if (retryTimer !== undefined && timers.now() >= notBefore) {
      clear(retryTimer);
      void open();
    }
  };

  const finish = (reason: string) => {
    const l = link;
    link = undefined;
    ready = false;
    clear(retryTimer);
    clear(connectTimer);
    clear(stableTimer);
    retryTimer = undefined;
    heartbeat.stop();
    if (l && !l.dead) {
      l.dead = true;
      l.conn?.close(1000, reason);
    }
    const closed = err(ErrorCode.Closed, `client closed: ${reason}`);
    requests.drain((p) => p.fail(closed));
    outbox.failAll(closed);
    subs.unconfirm();
    for (const u of unlisten) u();
    unlisten = [];
    attempt = refusals = 0;
    setState('closed', reason);
  };

  /** Resend publishes saved by an earlier session (once per client). */
  const restore = async () => {
    for (const p of await outbox.load()) {
      const op: OutboxOp = {
        frame: { t: 'pub', topic: p.topic, data: p.data, key: p.key },
        body: encodeFrame({ t: 'pub', topic: p.topic, data: p.data, key: p.key, id: 0 }),
        deadline: p.deadline ?? Infinity,
        resolve() {},
        reject: report,
      };
      outbox.add(op, false);
    }
  };

  return {
    get state() {
      return snapshot.state;
    },
    connect() {
      const s = snapshot.state;
      if (s !== 'idle' && s !== 'closed') return;
      const env = o.environment;
      unlisten = [
        env.onOnline(wake),
        env.onVisible(() => {
          wake();
          if (ready) heartbeat.check();
        }),
      ];
      void open();
    },
    close() {
      if (snapshot.state === 'closed') return;
      if (ready) emitter.emit('disconnected', { code: 1000, reason: 'client closed', willReconnect: false });
      finish('client closed');
    },
    on: emitter.on,
    subscribe: (topic, handler, opts) => {
      if (typeof topic !== 'string' || !topic) throw new TypeError('sdk-realtime: topic must be a non-empty string');
      return subs.add(topic, handler as MessageHandler, opts);
    },
    publish: (topic, data, opts) =>
      enqueue<PublishResult>({ t: 'pub', topic, data, key: opts?.key ?? randomId() }, opts?.timeout),
    request: <R>(method: string, params?: unknown, opts?: RequestOptions) =>
      enqueue<R>(params === undefined ? { t: 'rpc', method } : { t: 'rpc', method, params }, opts?.timeout),
    onlineCount: (topic, handler) => presence.add(topic, handler),
    subscribeState: (listener) => emitter.on('state', () => listener()),
    getSnapshot: () => snapshot,
  };
}
