import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, postgresStore, sqliteStore, StoreBusyError, type TelemetryStore } from '../../server/src/index';
import { RELATIVE_ERROR } from '../../server/src/telemetry/aggregates/histogram';
import type { StoredEvent } from '../../server/src/telemetry/sink';
import { postgresAvailable, postgresForFile } from '../support/postgres';

// One suite, two stores: the same generated events must give the same known answers on SQLite
// and on a real PostgreSQL server.

const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY = 86_400_000;
/** The start of an hour, three hours before the store's clock. */
const T0 = Math.floor(Date.UTC(2026, 5, 1, 9) / HOUR) * HOUR;
const NOW = T0 + 3 * HOUR;

function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PAGES = ['/', '/cart', '/orders/:id'];
const ROUTES = ['GET /orders/:id', 'POST /cart'];
const STATUSES = [200, 200, 200, 201, 404, 500, 0];
const MESSAGES = [
  (r: () => number) => `Timeout after ${Math.floor(r() * 1000)} ms`,
  (r: () => number) => `Cannot read "${Math.floor(r() * 100)}" of order 0x${Math.floor(r() * 65535).toString(16)}`,
];
const FRAMES = ['    at load (https://shop.example/app.js:10:5)', '    at pay (https://shop.example/pay.js:42:7)'];
const VITALS = ['LCP', 'CLS', 'INP'];

/** A deterministic event set over two hours of app `shop` and one of app `blog`. */
function generate(count: number, seed = 7): StoredEvent[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: StoredEvent[] = [];
  for (let i = 0; i < count; i++) {
    const app = i % 10 === 9 ? 'blog' : 'shop';
    const ts = T0 + Math.floor(r() * 2 * HOUR);
    const u = Math.floor(r() * 20);
    const base = {
      app,
      env: r() < 0.8 ? 'production' : 'staging',
      release: r() < 0.5 ? '1.0.0' : null,
      userId: u === 0 ? null : `u${u}`,
      sessionId: `s${Math.floor(r() * 40)}`,
      ts,
      rate: 1,
      receivedAt: ts + 100,
    };
    const k = r();
    if (k < 0.35) out.push({ ...base, type: 'page', name: pick(PAGES), props: { stay: Math.floor(100 + r() * 10_000), from: '/' } });
    else if (k < 0.6) {
      const route = pick(ROUTES);
      out.push({ ...base, type: 'api', name: route, props: { route: route.split(' ')[1], method: route.split(' ')[0], status: pick(STATUSES), duration: Math.floor(5 + r() * 2000) } });
    } else if (k < 0.7) {
      const m = Math.floor(r() * 2);
      out.push({ ...base, type: 'error', name: 'Error', props: { message: MESSAGES[m]!(r), stack: `Error: x\n${FRAMES[m]}\n    at main (https://shop.example/main.js:1:1)` } });
    } else if (k < 0.85) {
      const metric = pick(VITALS);
      out.push({ ...base, type: 'perf', name: metric, props: { value: metric === 'CLS' ? r() * 0.5 : Math.floor(50 + r() * 4000), page: pick(PAGES) } });
    } else if (k < 0.9) out.push({ ...base, type: 'event', name: 'realtime.disconnected', props: { code: 1006 } });
    else if (k < 0.94) out.push({ ...base, type: 'event', name: 'realtime.reconnected', props: { downtime: 300, reconnects: 1 } });
    else if (k < 0.96) out.push({ ...base, type: 'event', name: 'realtime.gap', props: { topic: 't', reason: 'expired' } });
    else out.push({ ...base, type: 'perf', name: 'realtime.rtt', props: { value: Math.floor(10 + r() * 300) } });
  }
  return out;
}

/** Exact nearest-rank percentile. */
function exact(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil(p * s.length)) - 1]!;
}
const near = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(want * RELATIVE_ERROR * 1.01 + 1e-9);
const hourOf = (t: number) => t - (t % HOUR);
const distinct = (xs: (string | null)[]) => new Set(xs.filter((x) => x !== null)).size;
const props = (e: StoredEvent) => e.props as Record<string, any>;

type Make = (o?: Record<string, unknown>) => Promise<TelemetryStore>;

const pgServer = postgresForFile();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdkrt-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
const opened: TelemetryStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
const quiet = { info() {}, warn() {}, error() {} };
const common = { rollupInterval: 0, retentionInterval: 0, now: () => NOW, logger: quiet };

/** Each backend makes a fresh database (`target`) and opens stores on it (several = several nodes). */
const backends: { name: string; enabled: boolean; target: () => Promise<string>; open: (target: string, o?: Record<string, unknown>) => TelemetryStore }[] = [
  {
    name: 'sqlite',
    enabled: true,
    target: async () => join(dir, `t${++n}.db`),
    open: (file, o = {}) => sqliteStore({ file, ...common, ...o }),
  },
  {
    name: 'postgres',
    enabled: postgresAvailable(),
    target: async () => {
      const server = pgServer()!;
      const db = `t${++n}`;
      const admin = new pg.Client(server.url);
      await admin.connect();
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.end();
      return server.url.replace(/\/postgres$/, '/' + db);
    },
    open: (connectionString, o = {}) => postgresStore({ connectionString, ...common, ...o }),
  },
];

for (const b of backends) {
  describe.skipIf(!b.enabled)(`${b.name} store`, () => {
    const make: Make = async (o) => {
      const s = b.open(await b.target(), o);
      opened.push(s);
      return s;
    };
    const events = generate(3000);
    const shop = events.filter((e) => e.app === 'shop');
    const filter = { app: 'shop', from: T0, to: T0 + 2 * HOUR, granularity: 'hour' as const };

    async function loaded(o?: Record<string, unknown>) {
      const s = await make(o);
      // Several batches, as uploads would arrive.
      for (let i = 0; i < events.length; i += 500) await s.write(events.slice(i, i + 500));
      await s.flush();
      await s.rollup(NOW);
      return s;
    }

    it('traffic per hour and page: views, distinct users and sessions equal the known answers', async () => {
      const s = await loaded();
      const rows = await s.traffic(filter);
      const want = new Map<string, { views: number; users: (string | null)[]; sessions: string[] }>();
      for (const e of shop.filter((e) => e.type === 'page')) {
        const k = `${hourOf(Number(e.ts))} ${e.name}`;
        const w = want.get(k) ?? { views: 0, users: [], sessions: [] };
        w.views++;
        w.users.push(e.userId as string | null);
        w.sessions.push(String(e.sessionId));
        want.set(k, w);
      }
      expect(rows.length).toBe(want.size);
      for (const r of rows) {
        const w = want.get(`${r.bucket} ${r.page}`)!;
        // A session has one env and release here only by chance: compare sums over (env, release) rows.
        expect(r.views).toBe(w.views);
        const perDim = new Map<string, StoredEvent[]>();
        for (const e of shop.filter((e) => e.type === 'page' && e.name === r.page && hourOf(Number(e.ts)) === r.bucket)) {
          const k = `${e.env}|${e.release}`;
          perDim.set(k, [...(perDim.get(k) ?? []), e]);
        }
        const sum = (f: (xs: StoredEvent[]) => number) => [...perDim.values()].reduce((a, xs) => a + f(xs), 0);
        expect(r.users).toBe(sum((xs) => distinct(xs.map((e) => e.userId as string | null))));
        expect(r.sessions).toBe(sum((xs) => distinct(xs.map((e) => String(e.sessionId)))));
      }
      // Filtered by env and release, one row per bucket and page is exact distinct counts.
      const prod = await s.traffic({ ...filter, env: 'production', release: '1.0.0' });
      for (const r of prod) {
        const xs = shop.filter((e) => e.type === 'page' && e.env === 'production' && e.release === '1.0.0' && e.name === r.page && hourOf(Number(e.ts)) === r.bucket);
        expect([r.views, r.users, r.sessions]).toEqual([xs.length, distinct(xs.map((e) => e.userId as string | null)), distinct(xs.map((e) => String(e.sessionId)))]);
      }
    });

    it('the day bucket and the minute buckets add up to the same views as the hours', async () => {
      const s = await loaded();
      const views = shop.filter((e) => e.type === 'page').length;
      const day = await s.traffic({ ...filter, from: T0 - (T0 % DAY), to: T0 - (T0 % DAY) + DAY, granularity: 'day' });
      expect(day.reduce((a, r) => a + r.views, 0)).toBe(views);
      const minutes = await s.traffic({ ...filter, granularity: 'minute' }, 10_000);
      expect(minutes.reduce((a, r) => a + r.views, 0)).toBe(views);
      expect(minutes.every((r) => r.bucket % MINUTE === 0)).toBe(true);
    });

    it('stay, API latency and Web Vitals percentiles are within the histogram error of the exact ones', async () => {
      const s = await loaded();
      const h1 = { ...filter, from: T0, to: T0 + HOUR };
      const inH1 = (e: StoredEvent) => Number(e.ts) < T0 + HOUR;
      for (const r of await s.stay(h1)) {
        const v = shop.filter((e) => e.type === 'page' && inH1(e) && e.name === r.page).map((e) => props(e).stay);
        expect(r.count).toBe(v.length);
        near(r.p50, exact(v, 0.5));
        near(r.p95, exact(v, 0.95));
      }
      const api = await s.api(h1);
      expect(api.length).toBeGreaterThan(4);
      for (const r of api) {
        const xs = shop.filter((e) => e.type === 'api' && inH1(e) && e.name === r.route && props(e).status === r.status);
        expect(r.count).toBe(xs.length);
        expect(r.failures).toBe(r.status === 0 || r.status >= 500 ? xs.length : 0);
        const d = xs.map((e) => props(e).duration);
        near(r.p50, exact(d, 0.5));
        near(r.p95, exact(d, 0.95));
        near(r.p99, exact(d, 0.99));
      }
      for (const r of await s.vitals(h1)) {
        const v = shop.filter((e) => e.type === 'perf' && inH1(e) && e.name === r.metric && props(e).page === r.page).map((e) => props(e).value);
        expect(r.count).toBe(v.length);
        near(r.p75, exact(v, 0.75));
      }
    });

    it('errors: top fingerprints by count, normalised message, top frame, first and last seen', async () => {
      const s = await loaded();
      const rows = await s.errors(filter);
      const errs = shop.filter((e) => e.type === 'error');
      expect(rows.map((r) => r.frame).sort()).toEqual(['https://shop.example/app.js:10', 'https://shop.example/pay.js:42']);
      const byFrame = (f: string) => errs.filter((e) => String(props(e).stack).includes(f.replace('https://shop.example/', '')));
      for (const r of rows) {
        const xs = byFrame(r.frame);
        expect(r.count).toBe(xs.length);
        expect(r.firstSeen).toBe(Math.min(...xs.map((e) => Number(e.ts))));
        expect(r.lastSeen).toBe(Math.max(...xs.map((e) => Number(e.ts))));
      }
      expect(rows.find((r) => r.frame.endsWith('app.js:10'))!.message).toBe('Timeout after <n> ms');
      expect(rows.find((r) => r.frame.endsWith('pay.js:42'))!.message).toBe('Cannot read "…" of order <hex>');
      expect(rows[0]!.count).toBeGreaterThanOrEqual(rows[1]!.count);
      expect(await s.errors(filter, 1)).toHaveLength(1);
      // Every fingerprint is new since T0; none since NOW.
      expect((await s.newErrors('shop', T0)).map((r) => r.fingerprint).sort()).toEqual(rows.map((r) => r.fingerprint).sort());
      expect(await s.newErrors('shop', NOW)).toEqual([]);
    });

    it('realtime health and the window summary equal the known answers', async () => {
      const s = await loaded();
      const rt = await s.realtime(filter);
      const count = (name: string, xs: StoredEvent[]) => xs.filter((e) => e.name === name).length;
      for (const r of rt) {
        const xs = shop.filter((e) => hourOf(Number(e.ts)) === r.bucket);
        expect([r.disconnects, r.reconnects, r.gaps]).toEqual([count('realtime.disconnected', xs), count('realtime.reconnected', xs), count('realtime.gap', xs)]);
        const rtt = xs.filter((e) => e.name === 'realtime.rtt').map((e) => props(e).value);
        expect(r.rtt.count).toBe(rtt.length);
        near(r.rtt.p95, exact(rtt, 0.95));
      }
      const from = T0 + 10 * MINUTE;
      const to = T0 + 40 * MINUTE;
      const xs = shop.filter((e) => Number(e.ts) >= from && Number(e.ts) < to);
      const api = xs.filter((e) => e.type === 'api');
      const sum = await s.summary({ app: 'shop', from, to });
      expect(sum).toMatchObject({
        events: xs.length,
        sessions: distinct(xs.map((e) => String(e.sessionId))),
        views: xs.filter((e) => e.type === 'page').length,
        errors: xs.filter((e) => e.type === 'error').length,
        apiRequests: api.length,
        apiFailures: api.filter((e) => props(e).status === 0 || props(e).status >= 500).length,
        disconnects: count('realtime.disconnected', xs),
      });
      near(sum.apiLatency.p95, exact(api.map((e) => props(e).duration), 0.95));
    });

    it('re-running a rollup gives the same rows; a second pass finds nothing dirty', async () => {
      const s = await loaded();
      const read = async () => [await s.traffic(filter), await s.api(filter), await s.errors(filter), await s.vitals(filter), await s.realtime(filter)];
      const before = await read();
      await s.recompute('hour', T0);
      await s.recompute('hour', T0 + HOUR);
      await s.recompute('hour', T0);
      expect(await read()).toEqual(before);
      expect(await s.rollup(NOW)).toBe(0);
    });

    it('a late event marks its closed bucket dirty and the next rollup counts it', async () => {
      const s = await loaded();
      const views = async () => (await s.traffic({ ...filter, to: T0 + HOUR })).reduce((a, r) => a + r.views, 0);
      const before = await views();
      await s.write([{ ...shop.find((e) => e.type === 'page')!, ts: T0 + 5 * MINUTE, name: '/late' }]);
      await s.flush();
      expect(await views()).toBe(before);
      expect(await s.rollup(NOW)).toBeGreaterThan(0);
      expect(await views()).toBe(before + 1);
      expect((await s.traffic(filter)).find((r) => r.page === '/late')).toMatchObject({ bucket: T0, views: 1 });
    });

    it('retention deletes raw events and minute rows but keeps hour and day aggregates and fingerprints', async () => {
      const s = await loaded();
      const hours = await s.traffic(filter);
      const errors = await s.errors(filter);
      const later = NOW + 31 * DAY;
      await s.retention(later);
      expect(s.stats().expired).toBe(events.length);
      expect(await s.traffic(filter)).toEqual(hours);
      expect(await s.errors(filter)).toEqual(errors);
      expect(await s.traffic({ ...filter, granularity: 'minute' })).toEqual([]);
      // Raw events are gone: a recompute now would find nothing, so nothing is dirty to recompute.
      expect(await s.rollup(later)).toBe(0);
      expect((await s.summary({ app: 'shop', from: T0, to: T0 + HOUR })).sessions).toBe(0);
    });

    it('two stores on one database (two nodes) write and roll up concurrently without counting anything twice', async () => {
      const target = await b.target();
      const [a, c] = [b.open(target), b.open(target)];
      opened.push(a, c);
      await a.flush();
      await c.flush();
      await Promise.all([a.write(events.slice(0, 1500)), c.write(events.slice(1500))]);
      await Promise.all([a.rollup(NOW), c.rollup(NOW), a.rollup(NOW), c.rollup(NOW)]);
      const views = shop.filter((e) => e.type === 'page').length;
      for (const s of [a, c]) {
        expect((await s.traffic(filter)).reduce((x, r) => x + r.views, 0)).toBe(views);
        expect((await s.summary({ app: 'shop', from: T0, to: T0 + 2 * HOUR })).events).toBe(shop.length);
      }
    });

    it('retention works through a large backlog in bounded chunks', async () => {
      const s = await loaded({ retentionChunk: 250 });
      await s.retention(NOW + 31 * DAY);
      expect(s.stats().expired).toBe(events.length);
    });

    it('app isolation: nothing of one app is read for another', async () => {
      const s = await loaded();
      const blog = events.filter((e) => e.app === 'blog');
      const bf = { ...filter, app: 'blog' };
      expect((await s.traffic(bf)).reduce((a, r) => a + r.views, 0)).toBe(blog.filter((e) => e.type === 'page').length);
      expect((await s.summary({ app: 'blog', from: T0, to: T0 + 2 * HOUR })).events).toBe(blog.length);
      expect((await s.errors(bf)).reduce((a, r) => a + r.count, 0)).toBe(blog.filter((e) => e.type === 'error').length);
      expect(await s.traffic({ ...filter, app: 'nobody' })).toEqual([]);
      expect((await s.dimensions('blog')).apps).toEqual(['blog']);
      expect((await s.dimensions()).apps).toEqual(['blog', 'shop']);
      expect((await s.dimensions('shop')).releases).toEqual(['1.0.0']);
    });

    it('events outside the kept range are dropped and counted, not stored', async () => {
      const s = await make();
      const e = shop[0]!;
      await s.write([{ ...e, ts: NOW - 40 * DAY }, { ...e, ts: NOW + 3 * DAY }, { ...e, ts: T0 }]);
      await s.flush();
      await s.rollup(NOW);
      expect(s.stats()).toMatchObject({ outOfRange: 2, written: 3 });
      expect((await s.summary({ app: 'shop', from: T0, to: T0 + MINUTE })).events).toBe(1);
    });

    it('a full write buffer refuses with StoreBusyError (Retry-After) and reports busy()', async () => {
      const s = await make({ maxBufferedEvents: 10, flushInterval: 60_000, batchSize: 1000 });
      const pending = s.write(shop.slice(0, 8));
      expect(s.busy()).toBe(0);
      await expect(s.write(shop.slice(0, 3))).rejects.toBeInstanceOf(StoreBusyError);
      const more = s.write(shop.slice(0, 2));
      expect(s.busy()).toBeGreaterThan(0);
      expect(s.stats()).toMatchObject({ buffered: 10, rejected: 3 });
      await s.flush();
      await Promise.all([pending, more]);
      expect(s.busy()).toBe(0);
    });
  });
}

describe('store options', () => {
  it('bad options throw a TypeError naming the option', () => {
    expect(() => sqliteStore({} as any)).toThrow(/"sqliteStore.file"/);
    expect(() => sqliteStore({ file: 'x.db', retentionDays: 0 })).toThrow(/"sqliteStore.retentionDays"/);
    expect(() => sqliteStore({ file: 'x.db', maxBufferedEvents: 1.5 })).toThrow(TypeError);
    expect(() => postgresStore({} as any)).toThrow(/"postgresStore.connectionString"/);
    expect(() => postgresStore({ connectionString: 'mysql://x' })).toThrow(/"postgresStore.connectionString"/);
    expect(() => postgresStore({ connectionString: 'postgres://x', aggregateRetentionDays: -1 })).toThrow(/"postgresStore.aggregateRetentionDays"/);
    expect(() => postgresStore({ connectionString: 'postgres://x', pool: {} as any })).toThrow(/"postgresStore.pool"/);
  });

  it('createServer names telemetry.store when it is not a store', async () => {
    await expect(createServer({ port: 0, jwtSecret: 'x'.repeat(32), logger: false, telemetry: { store: { write() {} } as any } })).rejects.toThrow(/"telemetry.store"/);
  });

  it.skipIf(!postgresAvailable())('postgresStore({ pool }) uses your pool and leaves it open on close', async () => {
    const pool = new pg.Pool({ connectionString: pgServer()!.url, max: 2 });
    const s = postgresStore({ pool, ...common });
    await s.write(generate(10));
    await s.close();
    expect((await pool.query('SELECT COUNT(*)::int AS n FROM telemetry_events')).rows[0].n).toBeGreaterThanOrEqual(10);
    await pool.end();
  });
});
