import { BUCKET_MS, GRANULARITIES, bucketOf } from '../aggregates/buckets';
import { sqlAggregateReader } from '../aggregates/reader';
import { recomputeBucket } from '../aggregates/rollup';
import type { Granularity } from '../aggregates/types';
import type { Logger } from '../../logger';
import { WriteBuffer } from './buffer';
import type { SqlDb } from './db';
import { RowMaker, type EventRow, type FingerprintRow } from './row';
import { AGGREGATE_TABLES, schemaSql } from './schema';
import type { StoreStats, StoredEvent, TelemetryStore } from './types';

const DAY = 86_400_000;
/** Minute buckets live this long (alert windows). */
export const MINUTE_RETENTION_MS = 48 * 3_600_000;
/** Dirty buckets recomputed per rollup pass at most; the rest wait for the next pass. */
const MAX_BUCKETS_PER_PASS = 500;
/** The advisory lock key under which PostgreSQL nodes create the schema. */
const SCHEMA_LOCK = 7_283_519_001;
/** Rows upserted in key order: two nodes' transactions then lock shared rows in the same order (no deadlock). */
const sorted = <T>(m: Map<string, T>): T[] => [...m.keys()].sort().map((k) => m.get(k)!);

/** Options every SQL store shares (each factory documents them with its own defaults). */
export interface SqlStoreOptions {
  /** Raw events are deleted this many days after their `ts`. Default `30`. */
  retentionDays?: number;
  /** Hour and day aggregates (and error fingerprints not seen since) are kept this many days. Default `400`. */
  aggregateRetentionDays?: number;
  /** Events held in the write buffer at most. Default `50000`; beyond: 429 with `Retry-After`. */
  maxBufferedEvents?: number;
  /** A transaction is written as soon as this many events wait. Default `2000`. */
  batchSize?: number;
  /** …or this many ms after the first one. Default `200`. */
  flushInterval?: number;
  /** How often dirty minute and hour buckets are recomputed, ms. Default `15000`; `0`: only `rollup()`. */
  rollupInterval?: number;
  /** Dirty day buckets are recomputed at most this often, ms (a day is a large scan). Default `300000`. */
  dayRollupInterval?: number;
  /** How often retention runs, ms. Default `60000`; `0`: only `retention()`. */
  retentionInterval?: number;
  /** Raw events deleted per statement (retention works in chunks so it never holds a long lock). Default `5000`. */
  retentionChunk?: number;
  /** Where bound warnings and upkeep failures go. Default `console`. */
  logger?: Logger;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

interface Resolved {
  retentionDays: number;
  aggregateRetentionDays: number;
  maxBufferedEvents: number;
  batchSize: number;
  flushInterval: number;
  rollupInterval: number;
  dayRollupInterval: number;
  retentionInterval: number;
  retentionChunk: number;
  logger: Logger;
  now: () => number;
}

/** Validate the shared options; a bad one throws a TypeError naming `<prefix>.<option>`. */
export function resolveSqlStoreOptions(prefix: string, o: SqlStoreOptions): Resolved {
  const bad = (name: string, what: string) => new TypeError(`sdk-realtime server: option "${prefix}.${name}" must be ${what}`);
  const int = (name: keyof SqlStoreOptions, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = o[name];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(name, `an integer between ${min} and ${max}`);
    return v;
  };
  if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null || typeof o.logger.warn !== 'function')) throw bad('logger', 'a logger (info, warn, error)');
  if (o.now !== undefined && typeof o.now !== 'function') throw bad('now', 'a function');
  return {
    retentionDays: int('retentionDays', 30, 1, 3650),
    aggregateRetentionDays: int('aggregateRetentionDays', 400, 1, 36500),
    maxBufferedEvents: int('maxBufferedEvents', 50_000, 1),
    batchSize: int('batchSize', 2000, 1, 100_000),
    flushInterval: int('flushInterval', 200, 0, 60_000),
    rollupInterval: int('rollupInterval', 15_000, 0),
    dayRollupInterval: int('dayRollupInterval', 300_000, 0),
    retentionInterval: int('retentionInterval', 60_000, 0),
    retentionChunk: int('retentionChunk', 5000, 1, 1_000_000),
    logger: o.logger ?? { info: console.info, warn: console.warn, error: console.error },
    now: o.now ?? Date.now,
  };
}

/**
 * The store on a SQL database: batched writes (raw events, dirty buckets, fingerprints and
 * dimensions in one transaction per batch), rollups of dirty buckets, retention in chunks, and the
 * aggregate reader. Timers are unref'd, so they never keep a process alive.
 */
export function sqlStore(open: () => Promise<SqlDb>, o: Resolved, label: string): TelemetryStore {
  const rows = new RowMaker();
  let db: SqlDb | undefined;
  const ready = (async () => {
    const d = await open();
    // One transaction; on PostgreSQL under a lock, since concurrent CREATE … IF NOT EXISTS of
    // several nodes starting at once can still collide.
    await d.tx(async (t) => {
      if (d.dialect === 'postgres') await t.query('SELECT pg_advisory_xact_lock(?)', [SCHEMA_LOCK]);
      for (const s of schemaSql(d.dialect)) await t.run(s);
    });
    db = d;
    return d;
  })();
  // A store that cannot open reports it once; every write and read then rejects with the cause.
  ready.catch((e: unknown) => o.logger.error(`telemetry ${label}: cannot open the database`, e));
  const use = async () => db ?? (await ready);

  let outOfRange = 0;
  let expired = 0;
  let dirty = 0;

  const writeBatch = async (events: StoredEvent[]) => {
    const d = await use();
    const now = o.now();
    const oldest = now - o.retentionDays * DAY;
    const fingerprints = new Map<string, FingerprintRow>();
    const batch: EventRow[] = [];
    const buckets = new Map<string, [Granularity, number]>();
    const dims = new Map<string, [string, string, string, number]>();
    for (const e of events) {
      const ts = Number(e.ts);
      // Outside the kept range the event would expire at once, or mark a far-future bucket dirty.
      if (!(ts >= oldest && ts <= now + DAY)) {
        outOfRange++;
        continue;
      }
      const r = rows.make(e, fingerprints);
      batch.push(r);
      for (const g of GRANULARITIES) {
        const b = bucketOf(ts, g);
        if (g === 'minute' && b < now - MINUTE_RETENTION_MS) continue;
        buckets.set(g + b, [g, b]);
      }
      dims.set(`${r.app}\u0000${r.env}\u0000${r.release}`, [r.app, r.env, r.release, r.receivedAt]);
    }
    if (batch.length === 0) return;
    await d.tx(async (t) => {
      await t.insertEvents(batch);
      for (const [g, b] of sorted(buckets)) await t.run('INSERT INTO telemetry_dirty (gran, bucket) VALUES (?, ?) ON CONFLICT DO NOTHING', [g, b]);
      for (const f of sorted(fingerprints)) {
        await t.run(
          `INSERT INTO telemetry_fingerprints (app, fp, message, frame, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (app, fp) DO UPDATE SET
             first_seen = CASE WHEN excluded.first_seen < telemetry_fingerprints.first_seen THEN excluded.first_seen ELSE telemetry_fingerprints.first_seen END,
             last_seen = CASE WHEN excluded.last_seen > telemetry_fingerprints.last_seen THEN excluded.last_seen ELSE telemetry_fingerprints.last_seen END`,
          [f.app, f.fp, f.message, f.frame, f.first, f.last],
        );
      }
      for (const v of sorted(dims)) {
        await t.run('INSERT INTO telemetry_dimensions (app, env, rel, last_seen) VALUES (?, ?, ?, ?) ON CONFLICT (app, env, rel) DO UPDATE SET last_seen = excluded.last_seen', v);
      }
    });
  };

  const buffer = new WriteBuffer({
    maxEvents: o.maxBufferedEvents,
    batchSize: o.batchSize,
    interval: o.flushInterval,
    write: writeBatch,
    onFull: (held) => o.logger.warn(`telemetry ${label}: write buffer full (${held} events held, maxBufferedEvents ${o.maxBufferedEvents}); answering 429 until it drains`),
  });

  const recompute = async (gran: Granularity, bucket: number, onlyIfDirty: boolean): Promise<boolean> => {
    const d = await use();
    return d.tx(async (t) => {
      // Taking the dirty mark first: an event committed meanwhile marks the bucket again, and on
      // PostgreSQL a second node rolling up the same bucket finds no mark and skips it.
      const taken = await t.run('DELETE FROM telemetry_dirty WHERE gran = ? AND bucket = ?', [gran, bucket]);
      if (onlyIfDirty && taken === 0) return false;
      await recomputeBucket(t, gran, bucket);
      return true;
    });
  };

  let lastDay = -Infinity;
  const rolledUp = new Set<() => void>();
  const rollup = async (now = o.now()): Promise<number> => {
    try {
      return await rollupPass(now);
    } finally {
      for (const fn of rolledUp) {
        try {
          fn();
        } catch (e) {
          o.logger.error(`telemetry ${label}: a rollup listener threw`, e);
        }
      }
    }
  };
  const rollupPass = async (now: number): Promise<number> => {
    const d = await use();
    const days = now - lastDay >= o.dayRollupInterval;
    const marks = await d.query<{ gran: string; bucket: unknown }>(
      `SELECT gran, bucket FROM telemetry_dirty ${days ? '' : "WHERE gran <> 'day' "}ORDER BY bucket LIMIT ${MAX_BUCKETS_PER_PASS}`,
    );
    let done = 0;
    for (const m of marks) if (await recompute(m.gran as Granularity, Number(m.bucket), true)) done++;
    if (days) lastDay = now;
    const [left] = await d.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM telemetry_dirty');
    dirty = Number(left?.n ?? 0);
    return done;
  };

  const retention = async (now = o.now()): Promise<void> => {
    const d = await use();
    const cutoff = now - o.retentionDays * DAY;
    // Chunks of the oldest events, so no statement holds the database for long.
    for (let i = 0; i < 100; i++) {
      const n = await d.run('DELETE FROM telemetry_events WHERE id IN (SELECT id FROM telemetry_events WHERE ts < ? ORDER BY ts LIMIT ?)', [cutoff, o.retentionChunk]);
      expired += n;
      if (n < o.retentionChunk) break;
    }
    const aggCutoff = now - o.aggregateRetentionDays * DAY;
    for (const table of AGGREGATE_TABLES) {
      await d.run(`DELETE FROM ${table} WHERE gran = 'minute' AND bucket < ?`, [now - MINUTE_RETENTION_MS]);
      await d.run(`DELETE FROM ${table} WHERE gran <> 'minute' AND bucket < ?`, [aggCutoff]);
    }
    await d.run("DELETE FROM telemetry_dirty WHERE (gran = 'minute' AND bucket < ?) OR bucket < ?", [now - MINUTE_RETENTION_MS, cutoff - DAY]);
    await d.run('DELETE FROM telemetry_fingerprints WHERE last_seen < ?', [aggCutoff]);
    await d.run('DELETE FROM telemetry_dimensions WHERE last_seen < ?', [aggCutoff]);
  };

  const every = (ms: number, what: string, fn: () => Promise<unknown>) => {
    if (ms === 0) return undefined;
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      fn()
        .catch((e: unknown) => o.logger.error(`telemetry ${label}: ${what} failed`, e))
        .finally(() => (busy = false));
    }, ms);
    t.unref();
    return t;
  };
  const timers = [every(o.rollupInterval, 'rollup', () => rollup()), every(o.retentionInterval, 'retention', () => retention())];

  const reader = sqlAggregateReader({ query: async (sql, params) => (await use()).query(sql, params) }, o.now);

  let closing: Promise<void> | undefined;
  return {
    ...reader,
    write: (events) => buffer.push(events),
    busy: () => buffer.busy(),
    flush: () => buffer.flush(),
    rollup,
    onRollup(listener) {
      rolledUp.add(listener);
      return () => void rolledUp.delete(listener);
    },
    recompute: async (g, b) => {
      if (!(g in BUCKET_MS)) throw new TypeError(`granularity must be minute, hour or day`);
      await recompute(g, bucketOf(b, g), false);
    },
    retention,
    stats: (): StoreStats => ({ buffered: buffer.held, written: buffer.written, rejected: buffer.rejected, outOfRange, dirty, expired }),
    close: () =>
      (closing ??= (async () => {
        for (const t of timers) if (t) clearInterval(t);
        await buffer.flush();
        buffer.stop();
        const d = await ready.catch(() => undefined);
        await d?.close();
      })()),
  };
}
