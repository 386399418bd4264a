import { isNonEmptyStr, isObj, isStr } from '../protocol/codec';
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
/** A section of options (the options themselves, `reconnect`, `heartbeat`, `outbox`). */
type Section = Record<string, unknown>;
/**
 * Option `name` (`'reconnect.floor'`) of `section` (its last part is the key there): absent
 * (unless `required`) or accepted by `ok`, else a TypeError naming it: it must be `what`.
 */
const option = <T>(section: Section, name: string, ok: (v: unknown) => boolean, what: string, required?: boolean): T => {
  const v = section[name.slice(name.lastIndexOf('.') + 1)];
  return (v === undefined && !required) || ok(v) ? (v as T) : bad(name, what);
};
/** A number ≥ `min`; absent → `def`. */
const num = (section: Section, name: string, def: number, min = 0): number =>
  option<number | undefined>(section, name, (v) => typeof v == 'number' && v >= min, `a number >= ${min}`) ?? def;
/** A duration in ms, clamped to what `setTimeout` can wait (so `Infinity` means "never" in practice). */
const ms = (section: Section, name: string, def: number, min = 0): number => Math.min(num(section, name, def, min), MAX_DELAY);
/** A value of type `type` (`function` or `object`, not `null`), or absent. */
const is = <T>(section: Section, name: string, type = 'function'): T | undefined => option(section, name, (v) => typeof v == type && !!v, `a ${type}`);
/** A section: an object, `false` when `canBeFalse`, or absent. */
const sectionOf = <T>(o: Section, name: string, canBeFalse?: boolean): T | undefined =>
  option(o, name, (v) => isObj(v) || (!!canBeFalse && v === false), canBeFalse ? 'false or an object' : 'an object');

/** The default transport, one for every client that names none (it holds no state of its own). */
let defaultTransport: Transport | undefined;

let defaultReconnect: ResolvedOptions['reconnect_'] | undefined;

function reconnectPolicy(r: Section): ResolvedOptions['reconnect_'] {
  const floor = ms(r, 'reconnect.floor', 500);
  return {
    floor,
    ceiling: ms(r, 'reconnect.ceiling', Math.max(30_000, floor), floor),
    maxAttempts: num(r, 'reconnect.maxAttempts', Infinity),
    stableAfter: ms(r, 'reconnect.stableAfter', 5_000),
  };
}

/** Apply defaults and validate; a bad option throws a `TypeError` naming it. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  const o = (isObj(options) ? options : bad('options', 'an object')) as Section;
  const r = sectionOf<Section | false>(o, 'reconnect', true);
  const h = sectionOf<Section | false>(o, 'heartbeat', true);
  const q = sectionOf<Section>(o, 'outbox') ?? {};
  return {
    url_: option(o, 'url', (v) => isStr(v) && /^wss?:\/\/./i.test(v), 'a ws:// or wss:// URL', true),
    app_: option(o, 'app', isNonEmptyStr, 'a non-empty string', true),
    token_: option(o, 'token', (v) => isStr(v) || typeof v == 'function', 'a string or a function'),
    deviceId_: option(o, 'deviceId', isNonEmptyStr, 'a non-empty string'),
    transport_: is<Transport>(o, 'transport') ?? (defaultTransport ??= webSocketTransport()),
    // The default policy is one object for every client that sets none (bench/mem.mjs counts bytes).
    reconnect_: r !== false && (r ? reconnectPolicy(r) : (defaultReconnect ??= reconnectPolicy({}))),
    heartbeat_: h !== false && ms(h || {}, 'heartbeat.timeout', 10_000),
    connectTimeout_: ms(o, 'connectTimeout', 10_000, 1),
    requestTimeout_: ms(o, 'requestTimeout', 10_000, 1),
    outboxSize_: num(q, 'outbox.size', 100),
    outboxTimeout_: ms(q, 'outbox.timeout', 30_000, 1),
    storage_: is(o, 'storage', 'object'),
    maxInboundFrame_: num(o, 'maxInboundFrame', 16 * 1024 * 1024, 1024),
    environment_: is<Environment>(o, 'environment', 'object') ?? browserEnvironment(),
    timers_: is<Timers>(o, 'timers', 'object') ?? systemTimers,
    random_: is<() => number>(o, 'random') ?? Math.random,
  };
}
