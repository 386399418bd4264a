import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/frames';
import type { Storage } from '../storage/types';
import type { Transport } from '../transports/types';
import { webSocketTransport } from '../transports/websocket';
import { browserEnvironment, type Environment } from '../util/environment';
import { systemTimers, type Timers } from '../util/timers';
import { MAX_DELAY } from './requests';

/** A token, or a function fetching a fresh one. */
export type TokenSource = string | (() => string | Promise<string>);

/** Options of {@link createClient}. Durations are in milliseconds. */
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
   * Where unsent publishes are saved (under `sdk-realtime:<app>:outbox`) so a reload resends them,
   * with their idempotency keys. Default: none (not persisted).
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
  url: string;
  app: string;
  token: TokenSource | undefined;
  deviceId: string | undefined;
  transport: Transport;
  reconnect: false | { floor: number; ceiling: number; maxAttempts: number; stableAfter: number };
  heartbeat: number | false;
  connectTimeout: number;
  requestTimeout: number;
  outboxSize: number;
  outboxTimeout: number;
  storage: Storage | undefined;
  maxInboundFrame: number;
  environment: Environment;
  timers: Timers;
  random: () => number;
  /** Outbound limit until the server states its own. */
  maxFrame: number;
}

const bad = (name: string, what: string): never => {
  throw new TypeError(`sdk-realtime: option "${name}" must be ${what}`);
};
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const num = (name: string, v: unknown, def: number, min: number, max: number): number =>
  v === undefined ? def : typeof v === 'number' && v >= min && v <= max ? v : bad(name, `a number from ${min} to ${max}`);
/** A duration: finite and within `setTimeout`'s range, or `Infinity` where allowed. */
const ms = (name: string, v: unknown, def: number, min = 0, inf = false): number =>
  inf && v === Infinity ? v : num(name, v, def, min, MAX_DELAY);
/** A function (no `methods`), or an object with those methods; `undefined` passes through. */
const fn = <T>(name: string, v: T | undefined, ...methods: string[]): T | undefined =>
  v === undefined || (methods.length ? isObj(v) && methods.every((m) => typeof v[m] === 'function') : typeof v === 'function')
    ? v
    : bad(name, methods.length ? `an object with ${methods.join(', ')}` : 'a function');

/** Apply defaults and validate; a bad option throws a `TypeError` naming it. */
export function resolveOptions(o: ClientOptions): ResolvedOptions {
  if (!isObj(o)) bad('options', 'an object');
  const { url, app, token, deviceId, reconnect: r, heartbeat: h, outbox: q } = o;
  if (typeof url !== 'string' || !/^wss?:\/\/[^/]/i.test(url)) bad('url', 'a ws:// or wss:// URL');
  if (typeof app !== 'string' || !app) bad('app', 'a non-empty string');
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') bad('token', 'a string or a function');
  if (deviceId !== undefined && (typeof deviceId !== 'string' || !deviceId)) bad('deviceId', 'a non-empty string');
  if (r !== undefined && r !== false && !isObj(r)) bad('reconnect', 'false or an object');
  if (h !== undefined && h !== false && !isObj(h)) bad('heartbeat', 'false or an object');
  if (q !== undefined && !isObj(q)) bad('outbox', 'an object');
  let reconnect: ResolvedOptions['reconnect'] = false;
  if (r !== false) {
    const floor = ms('reconnect.floor', r?.floor, 500);
    reconnect = {
      floor,
      ceiling: ms('reconnect.ceiling', r?.ceiling, Math.max(30_000, floor), floor),
      maxAttempts: r?.maxAttempts === Infinity ? Infinity : num('reconnect.maxAttempts', r?.maxAttempts, Infinity, 0, Number.MAX_SAFE_INTEGER),
      stableAfter: ms('reconnect.stableAfter', r?.stableAfter, 5_000),
    };
  }
  return {
    url,
    app,
    token,
    deviceId,
    transport: fn('transport', o.transport) ?? webSocketTransport(),
    reconnect,
    heartbeat: h === false ? false : ms('heartbeat.timeout', h?.timeout, 10_000),
    connectTimeout: ms('connectTimeout', o.connectTimeout, 10_000, 1),
    requestTimeout: ms('requestTimeout', o.requestTimeout, 10_000, 1, true),
    outboxSize: num('outbox.size', q?.size, 100, 0, Number.MAX_SAFE_INTEGER),
    outboxTimeout: ms('outbox.timeout', q?.timeout, 30_000, 1, true),
    storage: fn('storage', o.storage, 'get', 'set', 'remove'),
    maxInboundFrame: num('maxInboundFrame', o.maxInboundFrame, 16 * 1024 * 1024, 1024, Infinity),
    environment: fn('environment', o.environment, 'onOnline', 'onVisible') ?? browserEnvironment(),
    timers: fn('timers', o.timers, 'setTimeout', 'clearTimeout', 'now') ?? systemTimers,
    random: fn('random', o.random) ?? Math.random,
    maxFrame: DEFAULT_MAX_FRAME_BYTES,
  };
}
