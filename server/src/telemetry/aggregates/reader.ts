import type { SqlRunner } from '../store/db';
import { bucketOf } from './buckets';
import { merge, parseHistogram, percentiles, type Histogram } from './histogram';
import type { AggregateFilter, AggregateReader, ApiRow, ErrorRow, Granularity, RealtimeRow, StayRow, TrafficRow, VitalRow, WindowSummary } from './types';

/** Rows merged in memory at most (per query): several envs/releases of one bucket and key. */
const MAX_SCAN = 100_000;
const DIMENSION_CAP = 200;

const n = (v: unknown) => Number(v ?? 0);

/** `WHERE` of every read: one app, one granularity, the bucket range, optional env and release. */
function where(f: Omit<AggregateFilter, 'granularity'>, gran: Granularity, alias = ''): { sql: string; params: unknown[] } {
  const a = alias ? alias + '.' : '';
  const parts = [`${a}app = ?`, `${a}gran = ?`, `${a}bucket >= ?`, `${a}bucket < ?`];
  const params: unknown[] = [f.app, gran, bucketOf(f.from, gran), f.to];
  if (f.env !== undefined) {
    parts.push(`${a}env = ?`);
    params.push(f.env);
  }
  if (f.release !== undefined) {
    parts.push(`${a}rel = ?`);
    params.push(f.release);
  }
  return { sql: parts.join(' AND '), params };
}

/** Merge rows of one bucket and key (across envs and releases), keeping first-seen order. */
function mergeRows<R>(rows: Record<string, unknown>[], key: (r: Record<string, unknown>) => string, hist: (r: Record<string, unknown>) => Histogram, make: (r: Record<string, unknown>, h: Histogram) => R, limit: number): R[] {
  const out = new Map<string, { r: Record<string, unknown>; h: Histogram }>();
  for (const r of rows) {
    const k = key(r);
    const e = out.get(k);
    if (e) merge(e.h, hist(r));
    else {
      if (out.size >= limit) continue;
      out.set(k, { r, h: hist(r) });
    }
  }
  return [...out.values()].map(({ r, h }) => make(r, h));
}

/** {@link AggregateReader} over the aggregate tables of a SQL store (the same SQL on SQLite and PostgreSQL). */
export function sqlAggregateReader(db: Pick<SqlRunner, 'query'>, now: () => number): AggregateReader {
  return {
    async traffic(f, limit = 1000) {
      const w = where(f, f.granularity);
      const rows = await db.query(
        `SELECT bucket, page, SUM(views) AS views, SUM(users) AS users, SUM(sessions) AS sessions FROM telemetry_traffic
         WHERE ${w.sql} GROUP BY bucket, page ORDER BY bucket, page LIMIT ?`,
        [...w.params, limit],
      );
      return rows.map((r): TrafficRow => ({ bucket: n(r.bucket), page: String(r.page), views: n(r.views), users: n(r.users), sessions: n(r.sessions) }));
    },

    async stay(f, limit = 1000) {
      const w = where(f, f.granularity);
      const rows = await db.query(`SELECT bucket, page, hist FROM telemetry_stay WHERE ${w.sql} ORDER BY bucket, page LIMIT ?`, [...w.params, MAX_SCAN]);
      return mergeRows(rows, (r) => `${r.bucket}\u0000${r.page}`, (r) => parseHistogram(r.hist), (r, h): StayRow => ({ bucket: n(r.bucket), page: String(r.page), ...percentiles(h) }), limit);
    },

    async api(f, limit = 1000) {
      const w = where(f, f.granularity);
      const rows = await db.query(
        `SELECT bucket, route, status, requests, failures, hist FROM telemetry_api WHERE ${w.sql} ORDER BY bucket, route, status LIMIT ?`,
        [...w.params, MAX_SCAN],
      );
      const counts = new Map<string, { requests: number; failures: number }>();
      for (const r of rows) {
        const key = `${r.bucket}\u0000${r.route}\u0000${r.status}`;
        const c = counts.get(key) ?? { requests: 0, failures: 0 };
        c.requests += n(r.requests);
        c.failures += n(r.failures);
        counts.set(key, c);
      }
      return mergeRows(
        rows,
        (r) => `${r.bucket}\u0000${r.route}\u0000${r.status}`,
        (r) => parseHistogram(r.hist),
        (r, h): ApiRow => {
          const c = counts.get(`${r.bucket}\u0000${r.route}\u0000${r.status}`)!;
          // `count` is every request; the percentiles are over those that reported a duration.
          return { bucket: n(r.bucket), route: String(r.route), status: n(r.status), ...percentiles(h), count: c.requests, failures: c.failures };
        },
        limit,
      );
    },

    async errors(f, limit = 20) {
      const w = where(f, f.granularity, 'e');
      const rows = await db.query(
        `SELECT e.fp AS fp, SUM(e.n) AS n, SUM(e.users) AS users, MIN(p.message) AS message, MIN(p.frame) AS frame, MIN(p.first_seen) AS first_seen, MAX(p.last_seen) AS last_seen
         FROM telemetry_errors e JOIN telemetry_fingerprints p ON p.app = e.app AND p.fp = e.fp
         WHERE ${w.sql} GROUP BY e.fp ORDER BY SUM(e.n) DESC, e.fp LIMIT ?`,
        [...w.params, limit],
      );
      return rows.map(errorRow);
    },

    async vitals(f, limit = 1000) {
      const w = where(f, f.granularity);
      const rows = await db.query(`SELECT bucket, page, metric, hist FROM telemetry_vitals WHERE ${w.sql} ORDER BY bucket, page, metric LIMIT ?`, [...w.params, MAX_SCAN]);
      return mergeRows(
        rows,
        (r) => `${r.bucket}\u0000${r.page}\u0000${r.metric}`,
        (r) => parseHistogram(r.hist),
        (r, h): VitalRow => {
          const p = percentiles(h);
          return { bucket: n(r.bucket), page: String(r.page), metric: String(r.metric) as VitalRow['metric'], count: p.count, p75: p.p75 };
        },
        limit,
      );
    },

    async realtime(f, limit = 1000) {
      const w = where(f, f.granularity);
      const rows = await db.query(
        `SELECT bucket, sessions, disconnects, reconnects, gaps, rtt_hist FROM telemetry_totals WHERE ${w.sql} ORDER BY bucket LIMIT ?`,
        [...w.params, MAX_SCAN],
      );
      const out = new Map<number, { row: RealtimeRow; h: Histogram }>();
      for (const r of rows) {
        const b = n(r.bucket);
        let e = out.get(b);
        if (!e) {
          if (out.size >= limit) continue;
          out.set(b, (e = { row: { bucket: b, sessions: 0, disconnects: 0, reconnects: 0, gaps: 0, rtt: percentiles({}) }, h: {} }));
        }
        e.row.sessions += n(r.sessions);
        e.row.disconnects += n(r.disconnects);
        e.row.reconnects += n(r.reconnects);
        e.row.gaps += n(r.gaps);
        merge(e.h, parseHistogram(r.rtt_hist));
      }
      return [...out.values()].map(({ row, h }) => ({ ...row, rtt: percentiles(h) }));
    },

    async summary(f) {
      const w = where(f, 'minute');
      const rows = await db.query(
        `SELECT events, views, errors, api_requests, api_failures, disconnects, api_hist FROM telemetry_totals WHERE ${w.sql} LIMIT ?`,
        [...w.params, MAX_SCAN],
      );
      const s: WindowSummary = { events: 0, sessions: 0, views: 0, errors: 0, apiRequests: 0, apiFailures: 0, apiLatency: percentiles({}), disconnects: 0 };
      const h: Histogram = {};
      for (const r of rows) {
        s.events += n(r.events);
        s.views += n(r.views);
        s.errors += n(r.errors);
        s.apiRequests += n(r.api_requests);
        s.apiFailures += n(r.api_failures);
        s.disconnects += n(r.disconnects);
        merge(h, parseHistogram(r.api_hist));
      }
      s.apiLatency = percentiles(h);
      // Distinct sessions of a window cannot be summed from minutes: counted once from raw events
      // (which outlive minute rows), over the same range and filters.
      const raw: unknown[] = [f.app, bucketOf(f.from, 'minute'), f.to];
      let extra = '';
      if (f.env !== undefined) {
        extra += ' AND env = ?';
        raw.push(f.env);
      }
      if (f.release !== undefined) {
        extra += ' AND rel = ?';
        raw.push(f.release);
      }
      const [c] = await db.query(`SELECT COUNT(DISTINCT session_id) AS sessions FROM telemetry_events WHERE app = ? AND ts >= ? AND ts < ?${extra}`, raw);
      s.sessions = n(c?.sessions);
      return s;
    },

    async newErrors(app, since, limit = 20) {
      const rows = await db.query(
        `SELECT p.fp AS fp, p.message AS message, p.frame AS frame, p.first_seen AS first_seen, p.last_seen AS last_seen,
           (SELECT COUNT(*) FROM telemetry_events e WHERE e.app = p.app AND e.ts >= ? AND e.type = 'error' AND e.fp = p.fp) AS n,
           (SELECT COUNT(DISTINCT e.user_id) FROM telemetry_events e WHERE e.app = p.app AND e.ts >= ? AND e.type = 'error' AND e.fp = p.fp) AS users
         FROM telemetry_fingerprints p WHERE p.app = ? AND p.first_seen >= ? AND p.first_seen < ? ORDER BY p.first_seen, p.fp LIMIT ?`,
        [since, since, app, since, now(), limit],
      );
      return rows.map(errorRow);
    },

    async dimensions(app) {
      const w = app === undefined ? '' : ' WHERE app = ?';
      const p = app === undefined ? [] : [app];
      const col = async (c: string) =>
        (await db.query(`SELECT DISTINCT ${c} AS v FROM telemetry_dimensions${w} ORDER BY ${c} LIMIT ${DIMENSION_CAP}`, p)).map((r) => String(r.v));
      return { apps: await col('app'), envs: await col('env'), releases: (await col('rel')).filter((r) => r !== '') };
    },
  };
}

function errorRow(r: Record<string, unknown>): ErrorRow {
  return {
    fingerprint: String(r.fp),
    message: String(r.message),
    frame: String(r.frame),
    count: n(r.n),
    users: n(r.users),
    firstSeen: n(r.first_seen),
    lastSeen: n(r.last_seen),
  };
}

