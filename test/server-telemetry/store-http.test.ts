import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, otlpExporter, sqliteStore, type RealtimeServer, type TelemetryStore } from '../../server/src/index';
import { startCli, stopServers } from '../support/cli';

const KEY = 'test-api-key';
const quiet = { info() {}, warn() {}, error() {} };
let dir: string;
let server: RealtimeServer | undefined;
const closers: (() => Promise<void>)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdkrt-store-http-'));
});
afterEach(async () => {
  stopServers();
  await server?.close();
  server = undefined;
  for (const c of closers.splice(0)) await c();
  await rm(dir, { recursive: true, force: true });
});

const page = (over: Record<string, unknown> = {}) => ({
  app: 'shop', env: 'production', release: '1.0.0', userId: 'u1', sessionId: 's1',
  type: 'page', name: '/cart', props: { stay: 1200 }, ts: Date.now(), rate: 1, ...over,
});

async function start(store: TelemetryStore, extra: Record<string, unknown> = {}) {
  server = await createServer({ port: 0, jwtSecret: 'x'.repeat(32), apiKey: KEY, logger: quiet, telemetry: { store, ...extra } });
  return server;
}
const post = async (url: string, events: unknown[]) => {
  const res = await fetch(`${url}/api/telemetry/batch`, { method: 'POST', body: JSON.stringify({ v: 1, events }) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
};
const aggregates = async (url: string, query: string, key = KEY) => {
  const res = await fetch(`${url}/api/telemetry/aggregates?${query}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, body: (await res.json()) as any };
};

describe('GET /api/telemetry/aggregates', () => {
  it('serves the rolled-up page views of an app with the API key', async () => {
    const store = sqliteStore({ file: join(dir, 't.db'), rollupInterval: 0, logger: quiet });
    const s = await start(store);
    expect((await post(s.httpUrl, [page(), page({ userId: 'u2', sessionId: 's2' }), page({ app: 'blog' })])).status).toBe(202);
    await store.rollup();
    const { status, body } = await aggregates(s.httpUrl, 'app=shop&kind=traffic&granularity=minute');
    expect(status).toBe(200);
    expect(body.rows).toEqual([{ bucket: expect.any(Number), page: '/cart', views: 2, users: 2, sessions: 2 }]);
    const summary = await aggregates(s.httpUrl, `app=shop&kind=summary&from=${Date.now() - 60_000}`);
    expect(summary.body.summary).toMatchObject({ events: 2, views: 2, sessions: 2 });
    expect((await aggregates(s.httpUrl, 'kind=dimensions')).body).toEqual({ apps: ['blog', 'shop'], envs: ['production'], releases: ['1.0.0'] });
  });

  it('refuses without the key (401) and names the bad field (400)', async () => {
    const s = await start(sqliteStore({ file: join(dir, 't.db'), rollupInterval: 0, logger: quiet }));
    expect((await aggregates(s.httpUrl, 'app=shop&kind=traffic', '')).status).toBe(401);
    expect((await aggregates(s.httpUrl, 'app=shop&kind=traffic', 'wrong')).status).toBe(401);
    for (const [q, field] of [
      ['app=shop&kind=nope', 'kind'],
      ['kind=traffic', 'app'],
      ['app=shop&kind=traffic&from=yesterday', 'from'],
      ['app=shop&kind=traffic&granularity=week', 'granularity'],
      ['app=shop&kind=traffic&limit=0', 'limit'],
      ['app=shop&kind=traffic&from=20&to=10', 'from'],
    ]) {
      const r = await aggregates(s.httpUrl, q!);
      expect([r.status, r.body.error.field]).toEqual([400, field]);
    }
  });

  it('is 404 without a store (NDJSON only)', async () => {
    server = await createServer({ port: 0, jwtSecret: 'x'.repeat(32), apiKey: KEY, logger: quiet, telemetry: { dir } });
    expect((await aggregates(server.httpUrl, 'app=shop&kind=traffic')).status).toBe(404);
  });
});

describe('backpressure', () => {
  it('a full write buffer answers 429 with Retry-After, then accepts again once written', async () => {
    const store = sqliteStore({ file: join(dir, 't.db'), rollupInterval: 0, maxBufferedEvents: 5, flushInterval: 60_000, logger: quiet });
    const s = await start(store);
    const tooMany = await post(s.httpUrl, Array.from({ length: 6 }, () => page()));
    expect([tooMany.status, tooMany.retryAfter, tooMany.body.error.message]).toEqual([429, '1', 'telemetry storage is busy']);
    const first = post(s.httpUrl, Array.from({ length: 5 }, () => page()));
    while (store.stats().buffered < 5) await new Promise((r) => setTimeout(r, 5));
    const busy = await post(s.httpUrl, [page()]);
    expect([busy.status, busy.retryAfter]).toEqual([429, '1']);
    await store.flush();
    expect((await first).status).toBe(202);
    expect(store.stats()).toMatchObject({ written: 5, buffered: 0 });
    const metrics = await (await fetch(s.httpUrl + '/metrics')).text();
    expect(metrics).toMatch(/^sdk_realtime_telemetry_rejected_events_total 6$/m);
    expect(metrics).toMatch(/^sdk_realtime_telemetry_written_events_total 5$/m);
  });
});

describe('OTLP exporter', () => {
  async function collector(status = 200) {
    const got: { headers: IncomingMessage['headers']; body: any }[] = [];
    const http = createHttpServer((req, res) => {
      let text = '';
      req.on('data', (d) => (text += d));
      req.on('end', () => {
        got.push({ headers: req.headers, body: JSON.parse(text) });
        res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => http.close(() => r())));
    return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/v1/logs`, got };
  }

  it('exports each batch as OTLP/HTTP JSON logs beside the SQLite store', async () => {
    const c = await collector();
    const store = sqliteStore({ file: join(dir, 't.db'), rollupInterval: 0, logger: quiet });
    const s = await start(store, { sink: otlpExporter({ url: c.url, headers: { 'x-team': 'web' } }) });
    const ts = Date.now();
    expect((await post(s.httpUrl, [page({ ts }), page({ type: 'error', name: 'TypeError', props: { message: 'boom' }, ts })])).status).toBe(202);
    expect(c.got).toHaveLength(1);
    expect(c.got[0]!.headers['x-team']).toBe('web');
    const rl = c.got[0]!.body.resourceLogs[0];
    expect(rl.resource.attributes).toEqual([
      { key: 'service.name', value: { stringValue: 'shop' } },
      { key: 'deployment.environment', value: { stringValue: 'production' } },
      { key: 'service.version', value: { stringValue: '1.0.0' } },
    ]);
    const [view, error] = rl.scopeLogs[0].logRecords;
    expect(view).toMatchObject({ timeUnixNano: `${ts}000000`, severityNumber: 9, body: { stringValue: '/cart' } });
    expect(view.attributes).toContainEqual({ key: 'props.stay', value: { intValue: '1200' } });
    expect(error).toMatchObject({ severityNumber: 17, severityText: 'ERROR', body: { stringValue: 'TypeError' } });
    expect(store.stats().written).toBe(2);
  });

  it('a collector failure fails the upload (the client retries)', async () => {
    const c = await collector(503);
    server = await createServer({ port: 0, jwtSecret: 'x'.repeat(32), logger: quiet, telemetry: { sink: otlpExporter({ url: c.url }) } });
    expect((await post(server.httpUrl, [page()])).status).toBe(500);
    expect(() => otlpExporter({ url: 'collector:4318' })).toThrow(/"otlpExporter.url"/);
  });
});

describe('CLI', () => {
  it('--dev keeps telemetry in SQLite and shows a page view in the aggregates within the rollup interval', async () => {
    const file = join(dir, 'dev.db');
    const cli = await startCli(['--port', '0', '--dev', '--telemetry-sqlite', file]);
    expect(cli.output()).toContain(`Telemetry: SQLite ${file}`);
    expect((await post(cli.httpUrl, [page()])).status).toBe(202);
    const started = Date.now();
    let rows: any[] = [];
    while (Date.now() - started < 15_000) {
      rows = (await aggregates(cli.httpUrl, 'app=shop&kind=traffic&granularity=minute', 'dev-api-key')).body.rows;
      if (rows.length) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(rows).toMatchObject([{ page: '/cart', views: 1 }]);
    // The demo page reports its own page views with the telemetry module it is served.
    expect(await (await fetch(cli.httpUrl + '/')).text()).toContain("import('/sdk-realtime-telemetry.js')");
    const bundle = await fetch(cli.httpUrl + '/sdk-realtime-telemetry.js');
    expect([bundle.status, (await bundle.text()).includes('createTelemetry')]).toEqual([200, true]);
  }, 30_000);
});

describe('CLI telemetry flags', () => {
  it('pick the store and sinks, refuse two stores, and stay off outside dev mode without a flag', async () => {
    const { telemetryFromFlags } = await import('../../server/src/telemetry/cli-options');
    expect(telemetryFromFlags({ off: false }, false)).toBeUndefined();
    expect(telemetryFromFlags({ off: true }, true)).toBeUndefined();
    expect(() => telemetryFromFlags({ off: false, sqlite: 'a.db', postgres: 'postgres://x' }, false)).toThrow(/pick one store/);
    const ndjson = telemetryFromFlags({ off: false, dir }, false)!;
    expect([ndjson.options.store, typeof ndjson.options.sink?.write, ndjson.describe]).toEqual([undefined, 'function', `NDJSON in ${dir}`]);
    const both = telemetryFromFlags({ off: false, sqlite: join(dir, 'x.db'), otlp: 'http://127.0.0.1:4318/v1/logs' }, false)!;
    expect(both.describe).toBe(`SQLite ${join(dir, 'x.db')} + OTLP http://127.0.0.1:4318/v1/logs`);
    await both.options.store!.close();
  });
});
