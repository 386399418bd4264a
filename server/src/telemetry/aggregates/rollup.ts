import type { SqlRunner } from '../store/db';
import { AGGREGATE_TABLES } from '../store/schema';
import { BUCKET_MS } from './buckets';
import { addTo, type Histogram } from './histogram';
import type { Granularity } from './types';

/** An API call that failed, as alert rules count it: a network failure (status 0) or a 5xx. */
export const FAILURE_SQL = '(status = 0 OR status >= 500)';
export const VITALS = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB'] as const;

type Row = Record<string, unknown>;

/** Group histogram rows `(…key, bin, n)` into one histogram per key. */
function histograms(rows: Row[], key: (r: Row) => string): Map<string, { first: Row; hist: Histogram }> {
  const out = new Map<string, { first: Row; hist: Histogram }>();
  for (const r of rows) {
    const k = key(r);
    let e = out.get(k);
    if (!e) out.set(k, (e = { first: r, hist: {} }));
    if (r.bin !== null && r.bin !== undefined) addTo(e.hist, String(r.bin), Number(r.n));
  }
  return out;
}

const k = (...parts: unknown[]) => parts.map(String).join('\u0000');

/**
 * Recompute one bucket of every aggregate from the raw events in it, within the caller's
 * transaction: delete the bucket's rows, insert them anew. Re-running it over the same raw events
 * gives the same rows (idempotent); counts come from SQL GROUP BY, histograms from grouped bins.
 */
export async function recomputeBucket(t: SqlRunner, gran: Granularity, bucket: number): Promise<void> {
  const from = bucket;
  const to = bucket + BUCKET_MS[gran];
  for (const table of AGGREGATE_TABLES) await t.run(`DELETE FROM ${table} WHERE gran = ? AND bucket = ?`, [gran, bucket]);
  const head = [gran, bucket, from, to];
  const range = 'ts >= ? AND ts < ?';

  await t.run(
    `INSERT INTO telemetry_traffic (app, gran, bucket, env, rel, page, views, users, sessions)
     SELECT app, ?, ?, env, rel, page, COUNT(*), COUNT(DISTINCT user_id), COUNT(DISTINCT session_id)
     FROM telemetry_events WHERE ${range} AND type = 'page' GROUP BY app, env, rel, page`,
    head,
  );
  await t.run(
    `INSERT INTO telemetry_errors (app, gran, bucket, env, rel, fp, n, users)
     SELECT app, ?, ?, env, rel, fp, COUNT(*), COUNT(DISTINCT user_id)
     FROM telemetry_events WHERE ${range} AND type = 'error' GROUP BY app, env, rel, fp`,
    head,
  );

  const stay = await t.query(
    `SELECT app, env, rel, page, bin, COUNT(*) AS n FROM telemetry_events
     WHERE ${range} AND type = 'page' AND bin IS NOT NULL GROUP BY app, env, rel, page, bin`,
    [from, to],
  );
  for (const { first: r, hist } of histograms(stay, (r) => k(r.app, r.env, r.rel, r.page)).values()) {
    await t.run('INSERT INTO telemetry_stay (app, gran, bucket, env, rel, page, hist) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      r.app, gran, bucket, r.env, r.rel, r.page, JSON.stringify(hist),
    ]);
  }

  const api = await t.query(
    `SELECT app, env, rel, name, status, bin, COUNT(*) AS n FROM telemetry_events
     WHERE ${range} AND type = 'api' GROUP BY app, env, rel, name, status, bin`,
    [from, to],
  );
  const apiCounts = new Map<string, number>();
  for (const r of api) apiCounts.set(k(r.app, r.env, r.rel, r.name, r.status), (apiCounts.get(k(r.app, r.env, r.rel, r.name, r.status)) ?? 0) + Number(r.n));
  for (const [key, { first: r, hist }] of histograms(api, (r) => k(r.app, r.env, r.rel, r.name, r.status))) {
    const status = Number(r.status);
    const requests = apiCounts.get(key)!;
    await t.run('INSERT INTO telemetry_api (app, gran, bucket, env, rel, route, status, requests, failures, hist) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      r.app, gran, bucket, r.env, r.rel, r.name, status, requests, status === 0 || status >= 500 ? requests : 0, JSON.stringify(hist),
    ]);
  }

  const vitals = await t.query(
    `SELECT app, env, rel, page, name, bin, COUNT(*) AS n FROM telemetry_events
     WHERE ${range} AND type = 'perf' AND name IN (${VITALS.map(() => '?').join(', ')}) AND bin IS NOT NULL
     GROUP BY app, env, rel, page, name, bin`,
    [from, to, ...VITALS],
  );
  for (const { first: r, hist } of histograms(vitals, (r) => k(r.app, r.env, r.rel, r.page, r.name)).values()) {
    await t.run('INSERT INTO telemetry_vitals (app, gran, bucket, env, rel, page, metric, hist) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      r.app, gran, bucket, r.env, r.rel, r.page, r.name, JSON.stringify(hist),
    ]);
  }

  // Totals and realtime health: one row per app, env and release.
  const totals = await t.query(
    `SELECT app, env, rel, COUNT(*) AS events, COUNT(DISTINCT session_id) AS sessions,
       SUM(CASE WHEN type = 'page' THEN 1 ELSE 0 END) AS views,
       SUM(CASE WHEN type = 'error' THEN 1 ELSE 0 END) AS errors,
       SUM(CASE WHEN type = 'api' THEN 1 ELSE 0 END) AS api_requests,
       SUM(CASE WHEN type = 'api' AND ${FAILURE_SQL} THEN 1 ELSE 0 END) AS api_failures,
       SUM(CASE WHEN type = 'event' AND name = 'realtime.disconnected' THEN 1 ELSE 0 END) AS disconnects,
       SUM(CASE WHEN type = 'event' AND name = 'realtime.reconnected' THEN 1 ELSE 0 END) AS reconnects,
       SUM(CASE WHEN type = 'event' AND name = 'realtime.gap' THEN 1 ELSE 0 END) AS gaps
     FROM telemetry_events WHERE ${range} GROUP BY app, env, rel`,
    [from, to],
  );
  const apiHist = histograms(
    await t.query(`SELECT app, env, rel, bin, COUNT(*) AS n FROM telemetry_events WHERE ${range} AND type = 'api' AND bin IS NOT NULL GROUP BY app, env, rel, bin`, [from, to]),
    (r) => k(r.app, r.env, r.rel),
  );
  const rttHist = histograms(
    await t.query(
      `SELECT app, env, rel, bin, COUNT(*) AS n FROM telemetry_events WHERE ${range} AND type = 'perf' AND name = 'realtime.rtt' AND bin IS NOT NULL GROUP BY app, env, rel, bin`,
      [from, to],
    ),
    (r) => k(r.app, r.env, r.rel),
  );
  for (const r of totals) {
    const key = k(r.app, r.env, r.rel);
    await t.run(
      `INSERT INTO telemetry_totals (app, gran, bucket, env, rel, events, sessions, views, errors, api_requests, api_failures, disconnects, reconnects, gaps, api_hist, rtt_hist)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        r.app, gran, bucket, r.env, r.rel,
        Number(r.events), Number(r.sessions), Number(r.views), Number(r.errors), Number(r.api_requests), Number(r.api_failures),
        Number(r.disconnects), Number(r.reconnects), Number(r.gaps),
        JSON.stringify(apiHist.get(key)?.hist ?? {}), JSON.stringify(rttHist.get(key)?.hist ?? {}),
      ],
    );
  }
}
