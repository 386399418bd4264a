import { bad as badOption, int as intOption } from '../validate';
import type { RemoteConfig } from 'sdk-realtime/protocol';
import type { TelemetrySink } from './sink';
import type { AggregateReader } from './aggregates/types';
import type { AlertsOptions } from './alerts/options';
import type { DashboardOptions } from './dashboard/index';
import type { TelemetryStore } from './store/types';

/** Telemetry ingestion of the reference server (`createServer({ telemetry: { … } })`). Every field optional. */
export interface TelemetryServerOptions {
  /** Directory of the NDJSON files of the default sink. Default `'./telemetry'` (relative to the working directory). */
  dir?: string;
  /**
   * Where events go. Default NDJSON files in `dir`, one per UTC day, rotated at `maxFileBytes`;
   * with `store` and no `sink`, only the store. With both, every batch goes to both (`teeSink`).
   */
  sink?: TelemetrySink;
  /**
   * A telemetry store (`sqliteStore({ file })`, `postgresStore({ connectionString })`): events are
   * written to it in batched transactions, aggregated, and served by `GET /api/telemetry/aggregates`
   * (with the server API key). Closed with the server. Default none (docs/telemetry-backend.md).
   */
  store?: TelemetryStore;
  /** Size at which a day's file rotates, in bytes. Default 50 MiB. */
  maxFileBytes?: number;
  /** NDJSON files kept (oldest deleted). Default `30`. */
  maxFiles?: number;
  /** Largest `POST /api/telemetry/batch` body, in bytes. Default 256 KiB; over: 413 (the client halves the batch). */
  maxBodyBytes?: number;
  /** Most events in one batch. Default `500`; over: 400 naming `events`. */
  maxEvents?: number;
  /** Batch requests per client IP: `requests` per `per` ms. Default `{ requests: 120, per: 60000 }`; over: 429 with Retry-After. */
  ipRateLimit?: { requests?: number; per?: number };
  /**
   * Batches per sender: `requests` per `per` ms. Default `{ requests: 60, per: 60000 }`. The sender
   * is the verified user (a realtime connection's token, or an HTTP upload's `Authorization:
   * Bearer` token), else the connection or the client IP — never the `userId` written in events.
   */
  userRateLimit?: { requests?: number; per?: number };
  /** Take the client IP from the first `X-Forwarded-For` entry (behind a proxy you trust). Default `false`. */
  trustProxy?: boolean;
  /**
   * Served by `GET /api/telemetry/config`: sample rate, allow/deny lists, enabled plugins. The deny
   * list is also applied on ingestion. Default `{ enabled: true, sampleRate: 1 }`.
   */
  config?: RemoteConfig;
  /** Register the `telemetry.batch` RPC method (upload over the realtime connection). Default `true`. */
  rpc?: boolean;
  /**
   * Where alert rules read aggregates (aggregates/types.ts). Default: `store`; `alerts` needs one
   * or the other.
   */
  aggregates?: AggregateReader;
  /**
   * Alert rules evaluated on `aggregates`, webhooks, and the admin API under
   * `/api/telemetry/alerts` (API key); `{}` enables it with defaults (docs/telemetry-alerts.md).
   * Default off.
   */
  alerts?: AlertsOptions | false;
  /**
   * The dashboard at `GET /dashboard` (charts of the aggregates API, live over `$telemetry`); `true`
   * takes the defaults (docs/telemetry-alerts.md). Default off.
   */
  dashboard?: boolean | DashboardOptions;
}


const bad = (name: string, what: string): TypeError => badOption(`telemetry${name ? '.' + name : ''}`, what);
const int = (name: string, v: unknown, def: number, min: number): number => intOption(`telemetry.${name}`, v, def, min);

/** {@link TelemetryServerOptions} with defaults applied. */
export interface ResolvedTelemetryOptions {
  dir: string;
  sink: TelemetrySink | undefined;
  store: TelemetryStore | undefined;
  maxFileBytes: number;
  maxFiles: number;
  maxBodyBytes: number;
  maxEvents: number;
  ipRateLimit: { requests: number; per: number };
  userRateLimit: { requests: number; per: number };
  trustProxy: boolean;
  config: RemoteConfig;
  rpc: boolean;
}

/** Validate and apply defaults; a bad option throws a TypeError naming it (`telemetry.<name>`). */
export function resolveTelemetryOptions(input: TelemetryServerOptions): ResolvedTelemetryOptions {
  if (typeof input !== 'object' || input === null) throw bad('', 'an object');
  const o = input;
  if (o.dir !== undefined && (typeof o.dir !== 'string' || !o.dir)) throw bad('dir', 'a non-empty string');
  if (o.sink !== undefined && typeof o.sink?.write !== 'function') throw bad('sink', 'an object with a write method');
  if (o.store !== undefined && (typeof o.store?.write !== 'function' || typeof o.store?.traffic !== 'function')) {
    throw bad('store', 'a telemetry store (sqliteStore(…), postgresStore(…))');
  }
  const limit = (name: string, v: { requests?: number; per?: number } | undefined, requests: number, per: number) => {
    if (v !== undefined && (typeof v !== 'object' || v === null)) throw bad(name, 'an object');
    return { requests: int(`${name}.requests`, v?.requests, requests, 1), per: int(`${name}.per`, v?.per, per, 1) };
  };
  const c = o.config ?? {};
  if (typeof c !== 'object' || c === null) throw bad('config', 'an object');
  if (c.sampleRate !== undefined && !(typeof c.sampleRate === 'number' && c.sampleRate >= 0 && c.sampleRate <= 1)) {
    throw bad('config.sampleRate', 'a number in 0..1');
  }
  for (const k of ['allow', 'deny', 'plugins'] as const) {
    const l = c[k];
    if (l !== undefined && !(Array.isArray(l) && l.every((x) => typeof x === 'string'))) throw bad(`config.${k}`, 'an array of strings');
  }
  if (c.enabled !== undefined && typeof c.enabled !== 'boolean') throw bad('config.enabled', 'a boolean');
  return {
    dir: o.dir ?? './telemetry',
    sink: o.sink,
    store: o.store,
    maxFileBytes: int('maxFileBytes', o.maxFileBytes, 50 * 1024 * 1024, 1024),
    maxFiles: int('maxFiles', o.maxFiles, 30, 1),
    maxBodyBytes: int('maxBodyBytes', o.maxBodyBytes, 256 * 1024, 1024),
    maxEvents: int('maxEvents', o.maxEvents, 500, 1),
    ipRateLimit: limit('ipRateLimit', o.ipRateLimit, 120, 60_000),
    userRateLimit: limit('userRateLimit', o.userRateLimit, 60, 60_000),
    trustProxy: o.trustProxy === true,
    config: { enabled: true, sampleRate: 1, ...c },
    rpc: o.rpc !== false,
  };
}
