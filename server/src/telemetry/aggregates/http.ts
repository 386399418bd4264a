import type { IncomingMessage, ServerResponse } from 'node:http';
import { sameSecret, type ApiKeyGate } from '../../api-key';
import { HttpError, sendJson } from '../../http-util';
import type { AggregateFilter, AggregateReader, Granularity } from './types';

export const TELEMETRY_AGGREGATES_PATH = '/api/telemetry/aggregates';
const KINDS = ['traffic', 'stay', 'api', 'errors', 'vitals', 'realtime', 'summary', 'new-errors', 'dimensions'] as const;
type Kind = (typeof KINDS)[number];
const DAY = 86_400_000;

const badField = (field: string, message: string) => new HttpError(400, 'bad_request', `${field}: ${message}`, { field });

/** A time: ms since the epoch, or an ISO 8601 date. */
function time(q: URLSearchParams, field: string, fallback: number): number {
  const v = q.get(field);
  if (v === null || v === '') return fallback;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isSafeInteger(t)) throw badField(field, 'must be ms since the epoch or an ISO 8601 date');
  return t;
}

/**
 * `GET /api/telemetry/aggregates?app=&kind=&from=&to=&granularity=&env=&release=&limit=` with the
 * server API key (`Authorization: Bearer`; with per-app keys, the key of `app`). Answers
 * `{ rows: [...] }` (`summary`: `{ summary }`; `dimensions`: `{ apps, envs, releases }`).
 * Defaults: `to` now, `from` 24 h before `to`, `granularity` hour, `limit` the reader's.
 */
export function createAggregatesHandler(
  reader: AggregateReader,
  gate: ApiKeyGate,
  apiKey: string | Record<string, string> | undefined,
  now: () => number = Date.now,
  /** Development mode: a request without `Authorization` is answered (the dashboard is open there too); a key sent is still checked. */
  dev = false,
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('allow', 'GET');
      throw new HttpError(405, 'method_not_allowed', 'use GET');
    }
    const open = dev && req.headers.authorization === undefined;
    const { key, refuse } = open ? { key: '', refuse: undefined } : gate.check(req, 'the aggregates API is disabled: the server has no apiKey');
    const q = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const kind = q.get('kind') as Kind | null;
    if (!kind || !KINDS.includes(kind)) throw badField('kind', `must be one of ${KINDS.join(', ')}`);
    const app = q.get('app') ?? '';
    if (kind !== 'dimensions' && !app) throw badField('app', 'is required');
    if (app.length > 100) throw badField('app', 'at most 100 characters');
    if (refuse && typeof apiKey === 'object') {
      if (!app) throw badField('app', 'is required with per-app API keys');
      const expected = Object.hasOwn(apiKey, app) ? apiKey[app] : undefined;
      if (expected === undefined || !sameSecret(key, expected)) refuse('wrong API key for this app');
    }
    const to = time(q, 'to', now());
    const from = time(q, 'from', to - DAY);
    if (from > to) throw badField('from', 'must not be after to');
    const granularity = (q.get('granularity') ?? 'hour') as Granularity;
    if (!['minute', 'hour', 'day'].includes(granularity)) throw badField('granularity', 'must be minute, hour or day');
    const limitText = q.get('limit');
    const limit = limitText === null ? undefined : Number(limitText);
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 10_000)) throw badField('limit', 'must be an integer in 1..10000');
    const f: AggregateFilter = { app, from, to, granularity };
    for (const [field, prop] of [['env', 'env'], ['release', 'release']] as const) {
      const v = q.get(field);
      if (v === null) continue;
      if (v.length > 100) throw badField(field, 'at most 100 characters');
      f[prop] = v;
    }
    const body =
      kind === 'summary'
        ? { summary: await reader.summary(f) }
        : kind === 'dimensions'
          ? await reader.dimensions(app || undefined)
          : kind === 'new-errors'
            ? { rows: await reader.newErrors(app, from, limit) }
            : { rows: await reader[kind](f, limit) };
    sendJson(res, 200, body);
  };
}
