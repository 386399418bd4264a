import type { BackoffBounds } from '../util/backoff';
import type { Storage } from '../storage/types';
import type { Consent, PrivacySignals } from './consent';
import type { TelemetryEnvironment } from './environment';
import type { RemoteConfig, Sender, TelemetryPlugin } from './types';

/** Options of {@link createTelemetry}. Only `app` is required, plus `endpoint` unless `sender` is given. */
export interface TelemetryOptions {
  /**
   * Base URL of the telemetry server, e.g. `https://rt.example.com`: batches go to
   * `<endpoint>/api/telemetry/batch`, the remote config comes from `<endpoint>/api/telemetry/config`.
   * Required unless `sender` is given.
   */
  endpoint?: string;
  /** App id stamped on every event. Required. */
  app: string;
  /** Release / version stamped on every event. Default `null`. */
  release?: string;
  /** Environment stamped on every event. Default `'production'`. */
  env?: string;
  /**
   * Fraction of sessions whose events are kept, 0..1. Default `1`. Decided per session from a hash of
   * the session id, so a session is all in or all out. The remote config's `sampleRate` overrides it.
   */
  sampleRate?: number;
  /** Consent state at start. Default `'granted'`. `'pending'` holds events (up to 100) until `setConsent`. */
  consent?: Consent;
  /** Treat Do-Not-Track and Global Privacy Control as `consent: 'denied'`. Default `true`. */
  respectPrivacySignals?: boolean;
  /** Keep only these top-level `props` keys (empty: all). Default `[]`; the remote config's list overrides it. */
  allow?: string[];
  /**
   * Remove these `props` keys at any depth, besides the keys that always go (any key naming a
   * password, secret, token, authorization, cookie, API key, credential or private key). Default
   * `[]`; the remote config's list is added.
   */
  deny?: string[];
  /**
   * Remote config: `true` GETs `<endpoint>/api/telemetry/config` at start (cached; the cache or the
   * options apply if it fails), `false` uses the options only, or a function that returns the config.
   * Default `true` when `endpoint` is set.
   */
  remoteConfig?: boolean | (() => Promise<RemoteConfig>);
  /** Events per batch: reaching it flushes. Default `20`, 1..1000. */
  batchSize?: number;
  /** Time from the first buffered event to a flush, in ms. Default `10000`. */
  flushInterval?: number;
  /** Largest request body, in bytes. Default `30720` (30 KiB), 1024..1 MiB. Bigger flushes are split. */
  maxBatchBytes?: number;
  /** Largest single event (serialized), in bytes. Default `8192`; bigger ones are dropped as `tooLarge`. */
  maxEventBytes?: number;
  /**
   * Bytes handed to `sendBeacon` / keepalive while the page hides or unloads, in total until it is
   * visible again. Default and maximum `61440` (60 KiB, under the browsers' 64 KiB keepalive quota).
   */
  unloadBudget?: number;
  /** Uploads at once. Default `2`. */
  concurrency?: number;
  /** Least time between two upload starts, in ms. Default `200`. */
  spacing?: number;
  /** An upload taking longer is aborted and retried, in ms. Default `10000`. */
  timeout?: number;
  /** Retries of a failed upload (network error, 408, 429, 5xx) before its events are dropped as `failed`. Default `5`. */
  retries?: number;
  /** Retry backoff window, in ms (full jitter, doubling per attempt). Default `{ floor: 1000, ceiling: 60000 }`. */
  backoff?: BackoffBounds;
  /** Where unsent batches persist. Default `localStorage` when there is one, else memory; `false`: memory. */
  storage?: Storage | false;
  /** Most events waiting for upload; beyond, the oldest batches are dropped as `overflow`. Default `1000`. */
  maxQueuedEvents?: number;
  /** Most bytes waiting for upload; beyond, the oldest batches are dropped as `overflow`. Default `1048576` (1 MiB). */
  maxQueuedBytes?: number;
  /** Oldest a waiting batch may get, in ms; older ones are dropped as `expired`. Default `86400000` (24 h). */
  maxAge?: number;
  /** How batches travel. Default `fetchSender` to `<endpoint>/api/telemetry/batch` (sendBeacon on unload). */
  sender?: Sender;
  /** Online / visibility / pagehide events. Default: the browser's (inert elsewhere). */
  environment?: TelemetryEnvironment;
  /** Do-Not-Track / GPC state. Default: read from `navigator` at start. */
  privacy?: PrivacySignals;
  /** Plugins to start once the remote config is known (it may disable some by name). Default none. */
  plugins?: TelemetryPlugin[];
  /** Session id. Default a random id per `createTelemetry`. */
  sessionId?: string;
  /** User id at start. Default `null`; see `setUser`. */
  userId?: string | null;
  /** Clock, ms since the Unix epoch. Default `Date.now`. */
  now?: () => number;
  /** Random source of backoff jitter and ids. Default `Math.random`. */
  random?: () => number;
}

/** The TypeError of a bad option. */
export const bad = (name: string, what: string) => new TypeError(`sdk-realtime telemetry: option "${name}" must be ${what}`);

/** `o[name]` if it is an integer in `[min, max]`, `def` if absent; else a TypeError naming it. */
export function num(o: object, name: string, def: number, min: number, max: number, int = true): number {
  const v = (o as Record<string, unknown>)[name];
  if (v === undefined) return def;
  if (typeof v != 'number' || !(v >= min && v <= max) || (int && !Number.isInteger(v))) throw bad(name, `a number in ${min}..${max}`);
  return v;
}

/**
 * Check the type of each optional option named in `names` (space-separated): `string` (non-empty),
 * `function`, `object` (not null) or `array` (of strings). A TypeError names the first bad one.
 */
export function kind(o: object, names: string, type: string): void {
  for (const name of names.split(' ')) {
    const v = (o as Record<string, unknown>)[name];
    if (v !== undefined && (type == 'array' ? !(Array.isArray(v) && v.every((x) => typeof x == 'string')) : typeof v != type || !v)) {
      throw bad(name, type == 'array' ? 'a string[]' : 'a ' + type);
    }
  }
}
