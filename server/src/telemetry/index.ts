import type { IncomingMessage, ServerResponse } from 'node:http';
import { scrubString, type RemoteConfig } from 'sdk-realtime/protocol';
import { RpcError } from '../errors';
import { HttpError, bearer, clientIp, limitKey, readJson, sendHttpError, sendJson } from '../http-util';
import { MAX_JSON_DEPTH, tooDeep } from '../json-depth';
import type { Logger } from '../logger';
import type { ConnectionContext } from '../options';
import { KeyedLimiter } from '../rate-limit';
import { resolveTelemetryOptions, type TelemetryServerOptions } from './options';
import { scrubProps } from './props';
import { firstIssue, telemetryBatch, type TelemetryBatchBody } from './schema';
import { fileSink, type StoredEvent } from './sink';
import type { ApiKeyGate } from '../api-key';
import { createAggregatesHandler, TELEMETRY_AGGREGATES_PATH } from './aggregates/http';
import { StoreBusyError, type TelemetryStore } from './store/types';
import { teeSink } from './store/tee';

export type { TelemetryServerOptions } from './options';
export { fileSink, type FileSinkOptions, type StoredEvent, type TelemetrySink } from './sink';
export { TELEMETRY_AGGREGATES_PATH } from './aggregates/http';

export const TELEMETRY_BATCH_PATH = '/api/telemetry/batch';
export const TELEMETRY_CONFIG_PATH = '/api/telemetry/config';

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'content-type',
  'access-control-max-age': '600',
};

/** Telemetry ingestion: the HTTP handler of `/api/telemetry/*`, the `telemetry.batch` RPC and `close`. */
export interface TelemetryIngest {
  /** Answers `/api/telemetry/batch` and `/api/telemetry/config` (and their CORS preflight). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The `telemetry.batch` RPC method, or `undefined` when `rpc: false`. */
  rpc: ((params: unknown, ctx: ConnectionContext) => Promise<{ accepted: number }>) | undefined;
  /** Wait for pending writes and close the sink (and the store). */
  close(): Promise<void>;
  /** The store, when one was given. */
  store: TelemetryStore | undefined;
}

/** Batches the sink may be writing at once; beyond: 429 `telemetry storage is busy` with `Retry-After` 1 s. */
export const MAX_PENDING_WRITES = 64;

export interface TelemetryIngestDeps {
  apps?: Set<string>;
  logger: Logger;
  /** Verifies an `Authorization: Bearer` token of an HTTP upload, to key its per-user limit by the verified user. */
  verify?: (token: string) => Promise<{ ok: true; claims: { sub: string } } | { ok: false }>;
  /** The server's `trustProxy` (the telemetry option of the same name also turns it on). */
  trustProxy?: boolean;
  /** The server API key check, for `GET /api/telemetry/aggregates` (with a `store`). */
  apiKeys?: ApiKeyGate;
  apiKey?: string | Record<string, string>;
  /**
   * The `telemetry` part of the caller's remote config (flags `config.telemetry.*` and the flags
   * option's `remoteConfig.telemetry`), merged over `config` by `GET /api/telemetry/config`.
   */
  remoteConfig?: (req: IncomingMessage) => Promise<unknown> | undefined;
  /** Development mode: the aggregates API answers without the API key, like the dashboard page. */
  dev?: boolean;
  /** Told, after a store's rollup pass, each app that had events written since the last pass (dashboards read again). */
  aggregatesUpdated?: (app: string) => void;
}

/** Apps remembered between two rollup passes; beyond, the rest wait for the next pass (and the dashboards' polling). */
const MAX_CHANGED_APPS = 1000;

/** Build telemetry ingestion from its options (a bad one throws a TypeError naming `telemetry.<name>`). */
export function createTelemetryIngest(options: TelemetryServerOptions, deps: TelemetryIngestDeps): TelemetryIngest {
  const o = resolveTelemetryOptions(options);
  const sink = o.store
    ? o.sink
      ? teeSink(o.store, o.sink)
      : o.store
    : (o.sink ?? fileSink({ dir: o.dir, maxFileBytes: o.maxFileBytes, maxFiles: o.maxFiles }));
  // Apps with new events since the last rollup pass: told after the next one.
  const changedApps = new Set<string>();
  let appsFull = false;
  const offRollup = o.store?.onRollup?.(() => {
    for (const app of changedApps) deps.aggregatesUpdated?.(app);
    changedApps.clear();
    appsFull = false;
  });
  const aggregates = o.store && deps.apiKeys ? createAggregatesHandler(o.store, deps.apiKeys, deps.apiKey, Date.now, deps.dev === true) : undefined;
  const schema = telemetryBatch(o.maxEvents);
  const allow = o.config.allow ?? [];
  const deny = o.config.deny ?? [];
  const trustProxy = o.trustProxy || deps.trustProxy === true;
  const full = (what: string) => () => deps.logger.warn(`telemetry: ${what} limiter holds 10000 keys; forgetting the least recently used`);
  const perIp = new KeyedLimiter(o.ipRateLimit, 10_000, full('per-IP'));
  // Keyed by who verifiably sent the batch (the token's user, else the connection or the address),
  // never by the userId a client writes into its events: nobody can spend someone else's quota.
  const perUser = new KeyedLimiter(o.userRateLimit, 10_000, full('per-user'));

  /** Batches handed to the sink and not yet written. */
  let writing = 0;

  /** Validate, check apps and the sender's limit, scrub, write; returns the number accepted. */
  const ingest = async (raw: unknown, sender: string, fail: (status: number, code: string, message: string, extra?: { field?: string; retryAfter?: number }) => never) => {
    // zod and the field filters recurse: refuse hostile nesting before either sees it.
    const deep = tooDeep(raw, MAX_JSON_DEPTH);
    if (deep !== undefined) fail(400, 'bad_request', `${deep}: nested deeper than ${MAX_JSON_DEPTH} levels`, { field: deep });
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error);
      fail(400, 'bad_request', message, { field });
    }
    const body = parsed.data as TelemetryBatchBody;
    if (deps.apps) {
      const i = body.events.findIndex((e) => !deps.apps!.has(e.app));
      if (i >= 0) fail(403, 'forbidden', `app "${body.events[i]!.app}" is not allowed`, { field: `events.${i}.app` });
    }
    // A slow or stuck sink pushes back instead of holding every waiting batch in memory.
    // A store's full write buffer counts the same way.
    if (writing >= MAX_PENDING_WRITES) fail(429, 'rate_limited', 'telemetry storage is busy', { retryAfter: 1000 });
    const busy = sink.busy?.() ?? 0;
    if (busy > 0) fail(429, 'rate_limited', 'telemetry storage is busy', { retryAfter: busy });
    const wait = perUser.take(sender);
    if (wait) fail(429, 'rate_limited', 'too many telemetry batches for this user', { retryAfter: wait });
    const receivedAt = Date.now();
    const events: StoredEvent[] = body.events.map((e) => ({
      ...e,
      name: scrubString(e.name),
      userId: e.userId === null ? null : scrubString(e.userId),
      props: scrubProps(e.props, allow, deny),
      receivedAt,
    }));
    writing++;
    try {
      await sink.write(events);
      if (o.store && deps.aggregatesUpdated) {
        for (const { app } of body.events) {
          if (changedApps.size < MAX_CHANGED_APPS) changedApps.add(app);
          else if (!changedApps.has(app) && !appsFull) {
            appsFull = true;
            deps.logger.warn(`telemetry: more than ${MAX_CHANGED_APPS} apps changed between two rollups; the rest are told on the next one`);
          }
        }
      }
    } catch (e) {
      if (e instanceof StoreBusyError) fail(429, 'rate_limited', 'telemetry storage is busy', { retryAfter: e.retryAfter });
      throw e;
    } finally {
      writing--;
    }
    return events.length;
  };

  const httpFail = (status: number, code: string, message: string, extra?: { field?: string; retryAfter?: number }): never => {
    throw new HttpError(status, code, message, extra);
  };

  /** The verified user of an HTTP upload that carries a token, else its address. */
  const senderOf = async (req: IncomingMessage, ip: string): Promise<string> => {
    const token = bearer(req);
    if (token && deps.verify) {
      // A verifier that fails (a JWKS that cannot be fetched) counts the upload by its address.
      const v = await deps.verify(token).catch(() => ({ ok: false as const }));
      if (v.ok && typeof v.claims.sub === 'string' && v.claims.sub) return 'u:' + v.claims.sub;
    }
    return 'ip:' + ip;
  };

  return {
    async handle(req, res) {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      const method = req.method ?? 'GET';
      if (pathname === TELEMETRY_AGGREGATES_PATH) {
        // Server to server (or the same-origin dashboard) with the API key: no CORS headers.
        try {
          if (!aggregates) throw new HttpError(404, 'not_found', 'no telemetry store: the aggregates API is off');
          return await aggregates(req, res);
        } catch (e) {
          if (!(e instanceof HttpError)) deps.logger.error('telemetry aggregates failed', e);
          return sendHttpError(res, e instanceof HttpError ? e : new HttpError(500, 'internal', 'internal server error'));
        }
      }
      for (const [k, v] of Object.entries(CORS)) res.setHeader(k, v);
      if (method === 'OPTIONS') {
        res.writeHead(204).end();
        return;
      }
      try {
        if (pathname === TELEMETRY_CONFIG_PATH) {
          if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'use GET');
          const extra = deps.remoteConfig ? configFields(await deps.remoteConfig(req)) : undefined;
          // Evaluated for a token: only the caller may cache it.
          const scope = extra && bearer(req) ? 'private' : 'public';
          return sendJson(res, 200, extra ? { ...o.config, ...extra } : o.config, { 'cache-control': `${scope}, max-age=60` });
        }
        if (pathname !== TELEMETRY_BATCH_PATH) throw new HttpError(404, 'not_found', `no route for ${method} ${pathname}`);
        if (method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'use POST');
        // An IPv6 client is counted by its /64: one host usually holds all of it.
        const ip = limitKey(clientIp(req, trustProxy));
        const wait = perIp.take(ip);
        if (wait) throw new HttpError(429, 'rate_limited', 'too many telemetry requests from this address', { retryAfter: wait });
        const sender = await senderOf(req, ip);
        // sendBeacon posts text/plain: parse the body as JSON whatever its type.
        const accepted = await ingest(await readJson(req, o.maxBodyBytes), sender, httpFail);
        sendJson(res, 202, { accepted });
      } catch (e) {
        if (!(e instanceof HttpError)) deps.logger.error('telemetry ingestion failed', e);
        sendHttpError(res, e instanceof HttpError ? e : new HttpError(500, 'internal', 'internal server error'));
      }
    },
    rpc: o.rpc
      ? async (params, ctx) => ({
          accepted: await ingest(params, ctx.user !== null ? 'u:' + ctx.user : 'c:' + ctx.client, (_s, code, message, extra) => {
            throw new RpcError(code, message, extra?.retryAfter);
          }),
        })
      : undefined,
    close: async () => {
      offRollup?.();
      await sink.close?.();
    },
    store: o.store,
  };
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.length <= 1000 && v.every((x) => typeof x === 'string');

/**
 * The well-formed fields of a remote config that flags set (values a flag edit can make anything):
 * `enabled`, `sampleRate` in 0..1, `allow` / `deny` / `plugins` string lists; others are left out.
 */
function configFields(v: unknown): Partial<RemoteConfig> | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const c = v as Record<string, unknown>;
  const out: Partial<RemoteConfig> = {};
  if (typeof c.enabled === 'boolean') out.enabled = c.enabled;
  if (typeof c.sampleRate === 'number' && c.sampleRate >= 0 && c.sampleRate <= 1) out.sampleRate = c.sampleRate;
  for (const k of ['allow', 'deny', 'plugins'] as const) if (isStrings(c[k])) out[k] = c[k];
  return Object.keys(out).length ? out : undefined;
}
