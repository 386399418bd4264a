import { isObj } from '../protocol/codec';
import type { Storage } from '../storage/types';
import type { Transport } from '../transports/types';
import { webSocketTransport } from '../transports/websocket';
import { browserEnvironment, type Environment } from '../util/environment';
import { MAX_DELAY, systemTimers, type Timers } from '../util/timers';

/** A token, or a function fetching a fresh one. */
export type TokenSource = string | (() => string | Promise<string>);

/**
 * Options of {@link createClient}. Durations are in milliseconds; any duration above 2^31 − 1
 * (about 24.8 days, what `setTimeout` can wait), `Infinity` included, is clamped to it: never, in
 * practice. A value of the wrong type or out of range throws a `TypeError` naming the option.
 */
export interface ClientOptions {
  /** WebSocket endpoint of the server, `ws://` or `wss://` (e.g. `wss://rt.example.com/ws`). Required. */
  url: string;
  /** Application id; the server isolates apps completely. Required, non-empty. */
  app: string;
  /**
   * JWT sent in `connect`. A function is called before every (re)connect and again when the server
   * says the token `expired` (then sent in `refresh`, keeping subscriptions); if it throws or
   * rejects, the error is reported (`unauthorized`) and the attempt is retried with backoff.
   * A token refused at connect (close 4100) is retried once with a fresh token from the function;
   * a fixed string refused is terminal. Default: none (anonymous, if the server allows it).
   */
  token?: TokenSource;
  /** Device id for the personal stream `device:<id>`. Default: none. */
  deviceId?: string;
  /** How frames move. Default: {@link webSocketTransport}`()` (global `WebSocket`, else `ws` on Node). */
  transport?: Transport;
  /**
   * Reconnect policy, or `false` to end in `closed` at the first lost link.
   * Waits are random in `[floor, min(ceiling, floor · 2^attempt)]` (full jitter, kept at the cap).
   */
  reconnect?:
    | false
    | {
        /** Smallest wait before an attempt. Default 500. `0` retries at once (not recommended). */
        floor?: number;
        /** Largest wait before an attempt. Default 30 000. Must be ≥ `floor`. */
        ceiling?: number;
        /**
         * Attempts in a row before giving up (state `closed`, reason `reconnect attempts exhausted`).
         * Default `Infinity`. `0` behaves like `reconnect: false`.
         */
        maxAttempts?: number;
        /**
         * A connection that stays up this long resets the attempt counter, so the next loss starts
         * again from `floor`; a link that flaps sooner keeps backing off. Default 5 000.
         */
        stableAfter?: number;
      };
  /**
   * Liveness. The server advertises its ping interval at connect; if no frame at all arrives for
   * `ping + timeout`, the link is taken as half-open: it is closed and a reconnect starts.
   * `false` disables the check (pings are still answered).
   */
  heartbeat?:
    | false
    | {
        /** Grace on top of the server's ping interval. Default 10 000. */
        timeout?: number;
      };
  /** Longest wait from opening the transport to the server accepting `connect`; then the attempt fails and is retried. Default 10 000. */
  connectTimeout?: number;
  /**
   * Default time a `request` or `publish` may take when it is sent at once, from the call to the
   * reply; then it rejects with `timeout`. Per-call `timeout` overrides. Default 10 000;
   * `Infinity`: never.
   */
  requestTimeout?: number;
  /** Queue of publishes and requests made while not connected. */
  outbox?: {
    /** Most operations waiting at once; one more rejects with `outbox_full`. Default 100; `0` disables queueing. */
    size?: number;
    /** Default deadline of an operation that had to wait, from the call; then it rejects with `timeout`. Default 30 000. */
    timeout?: number;
  };
  /**
   * Where the client keeps what must survive a reload or an app restart: unsent publishes (under
   * `sdk-realtime:<app>:outbox`, resent with their idempotency keys) and the last position of every
   * subscribed topic and personal stream (under `sdk-realtime:<app>:streams`, so the next session
   * recovers what was published while the app was gone). Read once when the client is created,
   * before anything is written. Publishes are saved when they change; positions when the page or
   * app is hidden, when a link is lost and on `close()` — never per message. Default: none.
   */
  storage?: Storage;
  /** Largest inbound frame accepted; bigger ones are dropped and reported `too_large`. Replies that replay history can be big. Default 16 MiB. */
  maxInboundFrame?: number;
  /** Network and visibility events that trigger an immediate reconnect. Default {@link browserEnvironment}`()` (inert outside browsers). */
  environment?: Environment;
  /** The clock. Default: the host's `setTimeout`/`clearTimeout`/`Date.now`, looked up at call time. */
  timers?: Timers;
  /** Random source in `[0, 1)` for backoff jitter. Default `Math.random`. */
  random?: () => number;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  url_: string;
  app_: string;
  token_: TokenSource | undefined;
  deviceId_: string | undefined;
  transport_: Transport;
  reconnect_: false | { floor: number; ceiling: number; maxAttempts: number; stableAfter: number };
  heartbeat_: number | false;
  connectTimeout_: number;
  requestTimeout_: number;
  outboxSize_: number;
  outboxTimeout_: number;
  storage_: Storage | undefined;
  maxInboundFrame_: number;
  environment_: Environment;
  timers_: Timers;
  random_: () => number;
}

const bad = (name: string, what: string): never => {
  throw new TypeError(`sdk-realtime: option "${name}" must be ${what}`);
};
/** A number ≥ `min`; `undefined` → `def`. */
const num = (name: string, v: unknown, def: number, min = 0): number =>
  v === undefined ? def : typeof v === 'number' && v >= min ? v : bad(name, `a number >= ${min}`);
/** A duration in ms, clamped to what `setTimeout` can wait (so `Infinity` means "never" in practice). */
const ms = (name: string, v: unknown, def: number, min = 0): number => Math.min(num(name, v, def, min), MAX_DELAY);
/** A value of type `type` (`function` or `object`); `undefined` passes through. */
const is = <T>(name: string, v: T, type = 'function'): T =>
  v === undefined || (typeof v == type && v) ? v : bad(name, `a ${type}`);
/** `false`, an object or `undefined` (a section of options). */
const section = <T>(name: string, v: T, canBeFalse?: boolean): T =>
  v === undefined || isObj(v) || (canBeFalse && v === false) ? v : bad(name, canBeFalse ? 'false or an object' : 'an object');

/** The default transport, one for every client that names none (it holds no state of its own). */
let defaultTransport: Transport | undefined;

let defaultReconnect: ResolvedOptions['reconnect_'] | undefined;

function reconnectPolicy(r: Exclude<ClientOptions['reconnect'], false | undefined>): ResolvedOptions['reconnect_'] {
  const floor = ms('reconnect.floor', r.floor, 500);
  return {
    floor,
    ceiling: ms('reconnect.ceiling', r.ceiling, Math.max(30_000, floor), floor),
    maxAttempts: num('reconnect.maxAttempts', r.maxAttempts, Infinity),
    stableAfter: ms('reconnect.stableAfter', r.stableAfter, 5_000),
  };
}

/** Apply defaults and validate; a bad option throws a `TypeError` naming it. */
export function resolveOptions(o: ClientOptions): ResolvedOptions {
  const { url, app, token, deviceId } = section('options', o) ?? bad('options', 'an object');
  const r = section('reconnect', o.reconnect, true);
  const h = section('heartbeat', o.heartbeat, true);
  const q = section('outbox', o.outbox) ?? {};
  if (typeof url != 'string' || !/^wss?:\/\/./i.test(url)) bad('url', 'a ws:// or wss:// URL');
  if (typeof app != 'string' || !app) bad('app', 'a non-empty string');
  if (token !== undefined && typeof token != 'string' && typeof token != 'function') bad('token', 'a string or a function');
  if (deviceId !== undefined && (typeof deviceId != 'string' || !deviceId)) bad('deviceId', 'a non-empty string');
  return {
    url_: url,
    app_: app,
    token_: token,
    deviceId_: deviceId,
    transport_: is('transport', o.transport) ?? (defaultTransport ??= webSocketTransport()),
    // The default policy is one object for every client that sets none (bench/mem.mjs counts bytes).
    reconnect_: r !== false && (r ? reconnectPolicy(r) : (defaultReconnect ??= reconnectPolicy({}))),
    heartbeat_: h !== false && ms('heartbeat.timeout', h?.timeout, 10_000),
    connectTimeout_: ms('connectTimeout', o.connectTimeout, 10_000, 1),
    requestTimeout_: ms('requestTimeout', o.requestTimeout, 10_000, 1),
    outboxSize_: num('outbox.size', q.size, 100),
    outboxTimeout_: ms('outbox.timeout', q.timeout, 30_000, 1),
    storage_: is('storage', o.storage, 'object'),
    maxInboundFrame_: num('maxInboundFrame', o.maxInboundFrame, 16 * 1024 * 1024, 1024),
    environment_: is('environment', o.environment, 'object') ?? browserEnvironment(),
    timers_: is('timers', o.timers, 'object') ?? systemTimers,
    random_: is('random', o.random) ?? Math.random,
  };
}
