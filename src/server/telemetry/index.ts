import type { IncomingMessage, ServerResponse } from 'node:http';
import { filterFields } from '../../telemetry/fields';
import { scrub, scrubString } from '../../telemetry/scrub';
import { RpcError } from '../errors';
import { HttpError, readJson, sendHttpError, sendJson } from '../http-util';
import type { Logger } from '../logger';
import type { ConnectionContext } from '../options';
import { TokenBucket } from '../rate-limit';
import { resolveTelemetryOptions, type TelemetryServerOptions } from './options';
import { firstIssue, telemetryBatch, type TelemetryBatchBody } from './schema';
import { fileSink, type StoredEvent } from './sink';

export type { TelemetryServerOptions } from './options';
export { fileSink, type FileSinkOptions, type StoredEvent, type TelemetrySink } from './sink';

export const TELEMETRY_BATCH_PATH = '/api/telemetry/batch';
export const TELEMETRY_CONFIG_PATH = '/api/telemetry/config';

/** Keys removed from `props` on ingestion whatever the client did (plus the config's deny list). */
const SERVER_DENY = ['password', 'token', 'secret', 'authorization', 'cookie'];

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
  /** Wait for pending writes and close the sink. */
  close(): Promise<void>;
}

/** Build telemetry ingestion from its options (a bad one throws a TypeError naming `telemetry.<name>`). */
export function createTelemetryIngest(options: TelemetryServerOptions, deps: { apps?: Set<string>; logger: Logger }): TelemetryIngest {
  const o = resolveTelemetryOptions(options);
  const sink = o.sink ?? fileSink({ dir: o.dir, maxFileBytes: o.maxFileBytes, maxFiles: o.maxFiles });
  const schema = telemetryBatch(o.maxEvents);
  const deny = [...SERVER_DENY, ...(o.config.deny ?? [])];
  const ipBuckets = new Map<string, TokenBucket>();
  const userBuckets = new Map<string, TokenBucket>();

  /** ms to wait when `key` is over its limit, else 0 (and a token taken). */
  const take = (buckets: Map<string, TokenBucket>, key: string, limit: { requests: number; per: number }): number => {
    let b = buckets.get(key);
    if (!b) {
      if (buckets.size >= 10_000) for (const [k, v] of buckets) if (v.isFull()) buckets.delete(k);
      buckets.set(key, (b = new TokenBucket(limit.requests, limit.per)));
    }
    return b.take() ? 0 : Math.max(1, b.retryAfter());
  };

  /** Validate, check apps and the per-user limit, scrub, write; returns the number accepted. */
  const ingest = async (raw: unknown, user: string | null, fail: (status: number, code: string, message: string, extra?: { field?: string; retryAfter?: number }) => never) => {
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
    const users = new Set(body.events.map((e) => user ?? e.userId ?? 's:' + e.sessionId));
    for (const u of users) {
      const wait = take(userBuckets, u, o.userRateLimit);
      if (wait) fail(429, 'rate_limited', 'too many telemetry batches for this user', { retryAfter: wait });
    }
    const receivedAt = Date.now();
    const events: StoredEvent[] = body.events.map((e) => ({
      ...e,
      name: scrubString(e.name),
      userId: e.userId === null ? null : scrubString(e.userId),
      props: scrub(filterFields(e.props, o.config.allow, deny)) as Record<string, unknown>,
      receivedAt,
    }));
    await sink.write(events);
    return events.length;
  };

  const httpFail = (status: number, code: string, message: string, extra?: { field?: string; retryAfter?: number }): never => {
    throw new HttpError(status, code, message, extra);
  };

  const clientIp = (req: IncomingMessage): string => {
    const fwd = o.trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]!.trim() : '';
    return fwd || req.socket.remoteAddress || 'unknown';
  };

  return {
    async handle(req, res) {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      const method = req.method ?? 'GET';
      for (const [k, v] of Object.entries(CORS)) res.setHeader(k, v);
      if (method === 'OPTIONS') {
        res.writeHead(204).end();
        return;
      }
      try {
        if (pathname === TELEMETRY_CONFIG_PATH) {
          if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'use GET');
          return sendJson(res, 200, o.config, { 'cache-control': 'public, max-age=60' });
        }
        if (pathname !== TELEMETRY_BATCH_PATH) throw new HttpError(404, 'not_found', `no route for ${method} ${pathname}`);
        if (method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'use POST');
        const wait = take(ipBuckets, clientIp(req), o.ipRateLimit);
        if (wait) throw new HttpError(429, 'rate_limited', 'too many telemetry requests from this address', { retryAfter: wait });
        // sendBeacon posts text/plain: parse the body as JSON whatever its type.
        const accepted = await ingest(await readJson(req, o.maxBodyBytes), null, httpFail);
        sendJson(res, 202, { accepted });
      } catch (e) {
        if (!(e instanceof HttpError)) deps.logger.error('telemetry ingestion failed', e);
        sendHttpError(res, e instanceof HttpError ? e : new HttpError(500, 'internal', 'internal server error'));
      }
    },
    rpc: o.rpc
      ? async (params, ctx) => ({
          accepted: await ingest(params, ctx.user, (_s, code, message, extra) => {
            throw new RpcError(code, message, extra?.retryAfter);
          }),
        })
      : undefined,
    close: async () => {
      await sink.close?.();
    },
  };
}
