// bench/telemetry-ingest.mjs — telemetry ingestion throughput through the real HTTP endpoint
// (POST /api/telemetry/batch) into SQLite, PostgreSQL and NDJSON, then aggregate rollup and query
// latency over a large event set generated directly in each database.
//
//   npm run build && node bench/telemetry-ingest.mjs
//   env: SECONDS=5 ROUNDS=3 CONC=8 BATCH=500 EVENTS=1000000 DAYS=7 STORES=ndjson,sqlite,postgres
//        PG_URL=postgres://… (else a throwaway server is started, as the tests do)
//
// Each ingest run starts the built reference server in its own process with one store; CONC
// uploaders in this process post BATCH-event batches for SECONDS and count accepted events (a 202
// comes after the batch's transaction committed; a 429 waits its Retry-After). Stores alternate
// and the order rotates per round; the report gives medians. Loopback only; everything exits.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited, hardTimeout, machine, median, num, run, sleep, startReferenceServer } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const SECONDS = num('SECONDS', 5);
const ROUNDS = num('ROUNDS', 3);
const CONC = num('CONC', 8);
const BATCH = num('BATCH', 500);
const EVENTS = num('EVENTS', 1_000_000);
const DAYS = num('DAYS', 7);
let STORES = (process.env.STORES ?? 'ndjson,sqlite,postgres').split(',');
const DAY = 86_400_000;
const HOUR = 3_600_000;
const unlimited = { requests: 1_000_000_000, per: 1000 };

async function storeOf(kind, target) {
  const m = await import('../server/dist/index.js');
  const quiet = { info() {}, warn() {}, error: console.error };
  if (kind === 'sqlite') return m.sqliteStore({ file: target, logger: quiet });
  if (kind === 'postgres') return m.postgresStore({ connectionString: target, logger: quiet });
  return undefined;
}

/** Child: the reference server with one telemetry store; prints its port, stops on stdin end. */
async function server(kind, target) {
  hardTimeout(120_000, 'telemetry server');
  const store = await storeOf(kind, target);
  const telemetry = { ipRateLimit: unlimited, userRateLimit: unlimited, ...(store ? { store } : { dir: target }) };
  const s = await startReferenceServer({ telemetry });
  process.stdout.write(`PORT ${s.port}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await s.close();
    process.exit(0);
  });
}

/** BATCH events of a mixed shape (page views, API calls, errors, vitals), as the plugins send them. */
function body(seed) {
  const now = Date.now();
  const events = [];
  for (let i = 0; i < BATCH; i++) {
    const k = (seed * BATCH + i) % 10;
    const base = { app: 'shop', env: 'production', release: '1.0.0', userId: `u${(seed * 31 + i) % 5000}`, sessionId: `s${(seed * 17 + i) % 20000}`, ts: now, rate: 1 };
    if (k < 4) events.push({ ...base, type: 'page', name: `/p${i % 50}`, props: { stay: 100 + i, from: '/' } });
    else if (k < 7) events.push({ ...base, type: 'api', name: `GET /r${i % 20}/:id`, props: { route: `/r${i % 20}/:id`, method: 'GET', status: i % 17 ? 200 : 500, duration: 5 + (i % 900) } });
    else if (k < 8) events.push({ ...base, type: 'error', name: 'TypeError', props: { message: `x is undefined at ${i}`, stack: `TypeError\n    at f (https://shop.example/app.js:${i % 30}:1)` } });
    else if (k < 9) events.push({ ...base, type: 'perf', name: 'LCP', props: { value: 800 + i, page: `/p${i % 50}` } });
    else events.push({ ...base, type: 'event', name: 'realtime.disconnected', props: { code: 1006 } });
  }
  return JSON.stringify({ v: 1, events });
}

async function ingest(kind, pgUrl, dir, round) {
  const target = kind === 'postgres' ? await freshDatabase(pgUrl, `ingest_${round}`) : join(dir, `${kind}-${round}${kind === 'sqlite' ? '.db' : ''}`);
  const child = run(SELF, ['server', kind, target], { stdin: 'pipe', timeoutMs: 120_000 });
  const port = Number((await child.lines.next('PORT ')).split(' ')[1]);
  const url = `http://127.0.0.1:${port}/api/telemetry/batch`;
  const bodies = Array.from({ length: 16 }, (_, i) => body(i));
  let accepted = 0;
  let refused = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONC }, async (_, w) => {
      for (let i = w; performance.now() < end; i += CONC) {
        const res = await fetch(url, { method: 'POST', body: bodies[i % bodies.length] });
        const answer = await res.json();
        if (res.status === 202) accepted += answer.accepted;
        else if (res.status === 429) {
          refused++;
          await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
        } else throw new Error(`${kind}: HTTP ${res.status} ${JSON.stringify(answer)}`);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  child.stdin.end();
  await exited(child);
  return { perSecond: accepted / seconds, refused };
}

async function freshDatabase(pgUrl, name) {
  const { default: pg } = await import('pg');
  const admin = new pg.Client(pgUrl);
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return pgUrl.replace(/\/[^/]*$/, '/' + name);
}

/** The histogram bin of a value, as server/src/telemetry/aggregates/histogram.ts computes it. */
const binOf = (v) => Math.ceil(Math.log(v) / Math.log(1.02));

/**
 * EVENTS events over the last DAYS days, generated by the database itself (one INSERT … SELECT),
 * with the same derived columns the store writes; then every hour and day bucket marked dirty.
 */
async function generate(kind, target, now) {
  const span = DAYS * DAY;
  const values = Array.from({ length: 2000 }, (_, v) => `(${v + 1}, '${binOf(v + 1)}')`).join(', ');
  const start = now - span;
  // Our own integers, written into the SQL (no placeholders to line up across dialects).
  const series = kind === 'sqlite' ? `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${EVENTS - 1})` : '';
  const from = kind === 'sqlite' ? 'n' : `generate_series(0::bigint, ${EVENTS - 1}) AS n(i)`;
  const ts = `${start} + (i * ${span}) / ${EVENTS}`;
  const type = `CASE WHEN i % 10 < 4 THEN 'page' WHEN i % 10 < 7 THEN 'api' WHEN i % 10 = 7 THEN 'error' WHEN i % 10 = 8 THEN 'perf' ELSE 'event' END`;
  const sql = `${series} INSERT INTO telemetry_events (app, env, rel, user_id, session_id, type, name, ts, received_at, rate, props, page, status, val, bin, fp)
    SELECT 'shop', 'production', '1.0.0', 'u' || (i % 5000), 's' || (i % 20000), ${type},
      CASE WHEN i % 10 < 4 THEN '/p' || (i % 50) WHEN i % 10 < 7 THEN 'GET /r' || (i % 20) WHEN i % 10 = 7 THEN 'TypeError' WHEN i % 10 = 8 THEN 'LCP' ELSE 'realtime.disconnected' END,
      ${ts}, ${ts}, 1, '{}',
      CASE WHEN i % 10 < 4 OR i % 10 = 8 THEN '/p' || (i % 50) ELSE NULL END,
      CASE WHEN i % 10 BETWEEN 4 AND 6 THEN (CASE WHEN i % 17 = 0 THEN 500 ELSE 200 END) ELSE NULL END,
      CASE WHEN i % 10 < 7 OR i % 10 = 8 THEN b.v ELSE NULL END,
      CASE WHEN i % 10 < 7 OR i % 10 = 8 THEN b.bin ELSE NULL END,
      CASE WHEN i % 10 = 7 THEN 'f' || (i % 100) ELSE NULL END
    FROM ${from} JOIN bench_bins b ON b.v = (i * 7919) % 2000 + 1`;
  if (kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(target);
    db.exec(`CREATE TEMP TABLE bench_bins (v INTEGER PRIMARY KEY, bin TEXT); INSERT INTO bench_bins VALUES ${values}`);
    db.exec(sql);
    mark(db.prepare('INSERT INTO telemetry_dirty (gran, bucket) VALUES (?, ?) ON CONFLICT DO NOTHING'), start, now, (s, g, b) => s.run(g, b));
    db.prepare("INSERT INTO telemetry_fingerprints SELECT 'shop', 'f' || i, 'x is undefined at <n>', 'app.js:' || i, ?, ? FROM (WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99) SELECT i FROM n)").run(start, now);
    db.close();
  } else {
    const { default: pg } = await import('pg');
    const db = new pg.Client(target);
    await db.connect();
    await db.query(`CREATE TEMP TABLE bench_bins (v INTEGER PRIMARY KEY, bin TEXT); INSERT INTO bench_bins VALUES ${values}`);
    await db.query(sql);
    const marks = [];
    mark(null, start, now, (_, g, b) => marks.push([g, b]));
    for (const m of marks) await db.query('INSERT INTO telemetry_dirty (gran, bucket) VALUES ($1, $2) ON CONFLICT DO NOTHING', m);
    await db.query("INSERT INTO telemetry_fingerprints SELECT 'shop', 'f' || i, 'x is undefined at <n>', 'app.js:' || i, $1, $2 FROM generate_series(0, 99) AS n(i)", [start, now]);
    await db.query('ANALYZE');
    await db.end();
  }
}

/** Every hour and day bucket of the range, and the minutes of its last hour, dirty. */
function mark(stmt, start, now, add) {
  for (let h = start - (start % HOUR); h < now; h += HOUR) add(stmt, 'hour', h);
  for (let d = start - (start % DAY); d < now; d += DAY) add(stmt, 'day', d);
  for (let m = now - HOUR - ((now - HOUR) % 60_000); m < now; m += 60_000) add(stmt, 'minute', m);
}

async function aggregates(kind, pgUrl, dir) {
  const target = kind === 'postgres' ? await freshDatabase(pgUrl, 'aggregates') : join(dir, 'aggregates.db');
  const now = Date.now();
  // Opening the store creates the schema; its timers are off so only our calls run.
  const store = await storeOf(kind, target);
  await store.flush();
  await store.traffic({ app: 'shop', from: 0, to: 1, granularity: 'hour' });
  await store.close();
  let t = performance.now();
  await generate(kind, target, now);
  const generated = (performance.now() - t) / 1000;
  const { sqliteStore, postgresStore } = await import('../server/dist/index.js');
  const quiet = { info() {}, warn() {}, error: console.error };
  const o = { rollupInterval: 0, retentionInterval: 0, logger: quiet, now: () => now };
  const s = kind === 'sqlite' ? sqliteStore({ file: target, ...o }) : postgresStore({ connectionString: target, ...o });
  t = performance.now();
  let buckets = 0;
  for (let n; (n = await s.rollup(now)) > 0; ) buckets += n;
  const rollup = (performance.now() - t) / 1000;
  const range = { app: 'shop', from: now - DAYS * DAY, to: now };
  const queries = {
    'traffic, hourly, whole range': () => s.traffic({ ...range, granularity: 'hour' }, 10_000),
    'api p50/p95/p99, daily': () => s.api({ ...range, granularity: 'day' }, 10_000),
    'top 20 errors, whole range': () => s.errors({ ...range, granularity: 'day' }),
    'summary, last 15 minutes': () => s.summary({ app: 'shop', from: now - 15 * 60_000, to: now }),
  };
  const latency = {};
  for (const [name, q] of Object.entries(queries)) {
    const times = [];
    let rows = 0;
    for (let i = 0; i < 5; i++) {
      const q0 = performance.now();
      const r = await q();
      times.push(performance.now() - q0);
      rows = Array.isArray(r) ? r.length : 1;
    }
    latency[name] = { ms: median(times), rows };
  }
  await s.close();
  return { generated, rollup, buckets, latency };
}

async function main() {
  hardTimeout(30 * 60_000, 'telemetry bench');
  const dir = await mkdtemp(join(tmpdir(), 'sdkrt-bench-telemetry-'));
  let pg;
  let pgUrl = process.env.PG_URL;
  if (STORES.includes('postgres') && !pgUrl) {
    const { findPostgres, startPostgresServer } = await import('../scripts/local-postgres.mjs');
    if (findPostgres()) {
      pg = await startPostgresServer();
      pgUrl = pg.url;
    } else {
      console.log('PostgreSQL not installed (apt-get install postgresql, or set PG_URL): measuring without it');
      STORES = STORES.filter((k) => k !== 'postgres');
    }
  }
  try {
    console.log(`telemetry ingest: ${machine()}`);
    console.log(`${ROUNDS} rounds × ${SECONDS} s per store, ${CONC} uploaders, ${BATCH} events per batch`);
    const results = Object.fromEntries(STORES.map((k) => [k, []]));
    for (let r = 0; r < ROUNDS; r++) {
      const order = STORES.map((_, i) => STORES[(i + r) % STORES.length]);
      for (const kind of order) {
        const x = await ingest(kind, pgUrl, dir, r);
        results[kind].push(x.perSecond);
        console.log(`  round ${r + 1} ${kind.padEnd(8)} ${Math.round(x.perSecond).toLocaleString('en')} events/s${x.refused ? ` (${x.refused} × 429)` : ''}`);
      }
    }
    console.log('\nmedian events/s:');
    for (const kind of STORES) console.log(`  ${kind.padEnd(8)} ${Math.round(median(results[kind])).toLocaleString('en')}`);
    for (const kind of STORES.filter((k) => k !== 'ndjson')) {
      console.log(`\n${kind}: ${EVENTS.toLocaleString('en')} events over ${DAYS} days`);
      const a = await aggregates(kind, pgUrl, dir);
      console.log(`  generated in ${a.generated.toFixed(1)} s; rollup of ${a.buckets} buckets in ${a.rollup.toFixed(1)} s`);
      for (const [name, { ms, rows }] of Object.entries(a.latency)) console.log(`  ${name.padEnd(32)} ${ms.toFixed(1)} ms (median of 5; ${rows} rows)`);
    }
  } finally {
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'server') await server(process.argv[3], process.argv[4]);
else await main();
