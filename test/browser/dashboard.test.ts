import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AggregateFilter, Granularity } from '../../server/src/telemetry/aggregates/types';
import { chromiumForFile } from '../support/browser';
import { API_KEY, cleanup, startServer } from '../support/harness';
import { sqliteStore } from '../../server/src/index';
import { MemoryAggregates } from '../server-telemetry/memory-aggregates';

// The dashboard page of the real server in real Chromium. The first test reads a real SQLite store
// through the real aggregates API; the others answer the page's aggregate requests from an
// in-memory reader with known rows (the same contract), through Playwright's request routing, to
// pin exact figures, filters and edge cases.
const chrome = chromiumForFile();
const OUT = resolve('test-output');
let dir: string;
beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  dir = await mkdtemp(join(tmpdir(), 'sdkrt-dashboard-'));
});
afterAll(async () => {
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

const HOUR = 3_600_000;

/** Known rows for app `shop`: 24 hourly buckets up to now, two environments. */
function fixture(): MemoryAggregates {
  const r = new MemoryAggregates();
  const last = Math.floor(Date.now() / HOUR) * HOUR;
  for (let i = 23; i >= 0; i--) {
    const bucket = last - i * HOUR;
    for (const [env, scale] of [['production', 10], ['staging', 1]] as const) {
      const tag = { app: 'shop', env, release: env === 'production' ? '2.1.0' : '2.2.0-rc.1', bucket };
      r.traffics.push({ ...tag, page: '/', views: scale * (40 + i), users: scale * 12, sessions: scale * 15 });
      r.traffics.push({ ...tag, page: '/checkout', views: scale * 10, users: scale * 5, sessions: scale * 6 });
      r.apis.push({ ...tag, route: 'GET /orders/:id', status: 200, failures: 0, count: 100, p50: 80 + i, p75: 120, p95: 300 + 10 * i, p99: 900 });
      r.realtimes.push({ ...tag, sessions: scale * 15, disconnects: i % 5, reconnects: i % 5, gaps: i % 7 === 0 ? 1 : 0, rtt: { count: 50, p50: 40, p75: 60, p95: 120 + i, p99: 200 } });
      r.vitalRows.push({ ...tag, page: '/checkout', metric: 'LCP', count: 10, p75: 2400 });
      r.vitalRows.push({ ...tag, page: '/checkout', metric: 'CLS', count: 10, p75: 0.05 });
      r.vitalRows.push({ ...tag, page: '/', metric: 'INP', count: 10, p75: 180 });
      r.minutes.push({ ...tag, views: scale * 50, sessions: scale * 15, errors: scale, events: 0, apiRequests: 100, apiFailures: 2, disconnects: 1, apiLatency: { count: 100, p50: 80, p75: 120, p95: 310, p99: 900 } });
    }
  }
  r.errorRows.push(
    { app: 'shop', env: 'production', fingerprint: 'a1b2c3d4e5f60718', message: "TypeError: Cannot read properties of undefined (reading 'id')", frame: 'checkout.js:120', count: 42, users: 17, firstSeen: last - 20 * HOUR, lastSeen: last },
    { app: 'shop', env: 'production', fingerprint: 'ffee00112233', message: '<img src=x onerror="window.__pwned=1">', frame: 'app.js:7', count: 3, users: 2, firstSeen: last - 2 * HOUR, lastSeen: last - HOUR },
  );
  return r;
}

/** Answer the page's aggregates requests from `reader`; `key`: refuse requests without it. */
async function serveAggregates(page: Page, reader: MemoryAggregates, key?: string) {
  const seen: Array<{ url: URL; auth: string | undefined }> = [];
  await page.route(/\/api\/telemetry\/aggregates\?/, async (route: Route) => {
    const url = new URL(route.request().url());
    const auth = route.request().headers().authorization;
    seen.push({ url, auth });
    if (key && auth !== `Bearer ${key}`) return route.fulfill({ status: 401, json: { error: { code: 'unauthorized', message: 'wrong API key' } } });
    const q = url.searchParams;
    const kind = q.get('kind')!;
    if (kind === 'dimensions') return route.fulfill({ json: await reader.dimensions(q.get('app') ?? undefined) });
    const f: AggregateFilter = {
      app: q.get('app')!,
      env: q.get('env') ?? undefined,
      release: q.get('release') ?? undefined,
      from: Number(q.get('from')),
      to: Number(q.get('to')),
      granularity: (q.get('granularity') ?? 'hour') as Granularity,
    };
    if (kind === 'summary') return route.fulfill({ json: { summary: await reader.summary(f) } });
    const rows = await (reader as unknown as Record<string, (f: AggregateFilter) => Promise<unknown[]>>)[kind === 'errors' ? 'errors' : kind]!(f);
    return route.fulfill({ json: { rows } });
  });
  return seen;
}

async function shot(page: Page, name: string): Promise<string> {
  const file = join(OUT, `dashboard-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.info(`[dashboard test] screenshot: ${file}`);
  return file;
}

const refreshes = (page: Page) => page.evaluate(() => (window as unknown as { __dashboard: { refreshes: number } }).__dashboard.refreshes);

describe('telemetry dashboard (/dashboard) in Chromium', () => {
  it('shows what a real SQLite store rolled up from uploaded events, through the real aggregates API', async () => {
    const store = sqliteStore({ file: join(dir, 'real.db'), rollupInterval: 0, flushInterval: 20 });
    const server = await startServer({ dev: true, telemetry: { store, dashboard: true } });
    const now = Date.now();
    const ev = (type: string, name: string, i: number, props: Record<string, unknown> = {}) => ({
      app: 'shop', env: 'production', release: '1.0.0', userId: `u${i % 3}`, sessionId: `s${i % 4}`, type, name, props, ts: now - 30 * 60_000 + i * 1000, rate: 1,
    });
    const events = [
      ...Array.from({ length: 12 }, (_, i) => ev('page', '/cart', i)),
      ev('error', 'TypeError', 20, { message: 'real store error 42', stack: 'at cart.js:10:5' }),
    ];
    const post = await fetch(`${server.httpUrl}/api/telemetry/batch`, { method: 'POST', body: JSON.stringify({ v: 1, events }) });
    expect(post.status).toBe(202);
    await store.flush();
    await store.rollup();
    const page = await chrome.browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(server.httpUrl + '/dashboard');
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('updated'), null, { timeout: 10_000 });
    // The default range (24 h, hourly): the 12 page views sit in one hour bucket.
    await expect.poll(() => page.textContent('#traffic .latest'), { timeout: 5000 }).toContain('views: 12');
    const errorRows = await page.locator('#errors tbody tr').allTextContents();
    expect(errorRows.join('\n')).toContain('real store error');
    await shot(page, 'real-store');
    await page.close();
  });

  it('dev mode: renders the charts and tables, filters change the request, a $telemetry message refreshes it live', async () => {
    const reader = fixture();
    const server = await startServer({ dev: true, telemetry: { dir, dashboard: true } });
    const page = await chrome.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && !m.text().includes('401') && errors.push(m.text()));
    const seen = await serveAggregates(page, reader);
    const lastOf = (kind: string) => [...seen].reverse().find(({ url }) => url.searchParams.get('kind') === kind)?.url.searchParams;
    const res = await page.goto(server.httpUrl + '/dashboard');
    expect(res!.headers()['content-security-policy']).toContain("frame-ancestors 'none'");

    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('updated'), null, { timeout: 10_000 });
    // Charts: a uPlot canvas each, with the series and the latest values.
    for (const id of ['traffic', 'latency', 'realtime']) expect(await page.locator(`#${id} canvas`).count()).toBeGreaterThan(0);
    expect(await page.getAttribute('#traffic', 'data-series')).toBe('views,users,sessions');
    expect(Number(await page.getAttribute('#traffic', 'data-points'))).toBeGreaterThanOrEqual(23);
    // The newest bucket: '/' 10×40 + 1×40 plus '/checkout' 10×10 + 1×10 = 550 views.
    expect(await page.textContent('#traffic .latest')).toContain('views: 550');
    expect(await page.textContent('#latency .u-legend')).toContain('p95 ms');
    expect(await page.textContent('#latency .latest')).toContain('p95 ms: 300');
    expect(await page.textContent('#realtime .latest')).toContain('rtt p95 ms: 120');
    // Tables: the top errors (messages as text, never as HTML) and Web Vitals p75 per page.
    const errorRows = await page.locator('#errors tbody tr').allTextContents();
    expect(errorRows).toHaveLength(2);
    expect(errorRows[0]).toContain("TypeError: Cannot read properties of undefined (reading 'id')checkout.js:1204217");
    expect(errorRows[1]).toContain('<img src=x onerror="window.__pwned=1">');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    const vitals = await page.locator('#vitals tbody tr').allTextContents();
    expect(vitals).toContain('/checkout2400' + '0.05');
    expect(await page.textContent('#tiles')).toContain('2%error rate');
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live', null, { timeout: 5000 });
    await shot(page, 'dev-24h');

    // Filters: environment, release, time range: each changes the next request.
    await page.selectOption('#env', 'staging');
    await page.waitForFunction(() => document.getElementById('traffic')?.querySelector('.latest')?.textContent?.includes('views: 50'), null, { timeout: 5000 });
    expect(lastOf('traffic')!.get('env')).toBe('staging');
    await page.selectOption('#release', '2.2.0-rc.1');
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('updated'), null, { timeout: 5000 });
    expect(seen.some(({ url }) => url.searchParams.get('release') === '2.2.0-rc.1' && url.searchParams.get('kind') === 'traffic')).toBe(true);
    const before = seen.length;
    await page.selectOption('#range', '7d');
    await page.waitForFunction((n) => (window as unknown as { __dashboard: { aggregates: { requests: string[] } } }).__dashboard.aggregates.requests.length > 0 && n >= 0, before);
    await expect.poll(() => seen.slice(before).find(({ url }) => url.searchParams.get('kind') === 'traffic')?.url.searchParams.get('granularity')).toBe('hour');
    const traffic7d = seen.slice(before).find(({ url }) => url.searchParams.get('kind') === 'traffic')!.url.searchParams;
    expect(Number(traffic7d.get('to')) - Number(traffic7d.get('from'))).toBe(7 * 24 * HOUR);
    await page.selectOption('#range', '30d');
    await expect.poll(() => lastOf('traffic')?.get('granularity')).toBe('day');
    await page.selectOption('#range', '1h');
    await expect.poll(() => lastOf('traffic')?.get('granularity')).toBe('minute');
    await page.selectOption('#range', '24h');
    await page.selectOption('#env', '');
    await page.selectOption('#release', '');
    await page.waitForFunction(() => document.getElementById('traffic')?.querySelector('.latest')?.textContent?.includes('views: 550'), null, { timeout: 5000 });

    // Live: a rollup's hook publishes on $telemetry; the page reloads without polling.
    const n = await refreshes(page);
    reader.errorRows.push({ app: 'shop', env: 'production', fingerprint: '99', message: 'RangeError: new after rollup', frame: 'x.js:1', count: 1, users: 1, firstSeen: Date.now(), lastSeen: Date.now() });
    server.aggregatesUpdated('shop');
    await page.waitForFunction(() => document.getElementById('errors')?.textContent?.includes('new after rollup'), null, { timeout: 5000 });
    expect(await refreshes(page)).toBe(n + 1);
    await shot(page, 'dev-live-update');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('with an API key: asks for it, keeps it in sessionStorage, sends it as a Bearer header and never in a URL', async () => {
    const reader = fixture();
    const server = await startServer({ telemetry: { dir, dashboard: true } });
    const page = await chrome.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    const seen = await serveAggregates(page, reader, API_KEY);
    await page.goto(server.httpUrl + '/dashboard');
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.includes('wants an API key'), null, { timeout: 10_000 });
    expect(await page.textContent('#live')).toBe('polling every 30 s'); // no token, no realtime connection
    await shot(page, 'needs-key');

    await page.fill('#key', API_KEY);
    await page.click('#keyForm button');
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('updated'), null, { timeout: 10_000 });
    expect(await page.evaluate(() => sessionStorage.getItem('sdk-realtime-dashboard-key'))).toBe(API_KEY);
    expect(seen.at(-1)!.auth).toBe(`Bearer ${API_KEY}`);
    expect(urls.filter((u) => u.includes(API_KEY))).toEqual([]);
    expect(await page.locator('#errors tbody tr').count()).toBe(2);
    // The alerts panel reads the admin API with the key: alerts are not enabled on this server.
    expect(await page.textContent('#alerts')).toContain('alerts are not enabled');
    // Live: the key bought a short-lived client token (POST /dashboard/token), and a message reloads.
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live', null, { timeout: 5000 });
    const n = await refreshes(page);
    server.aggregatesUpdated('shop');
    await expect.poll(() => refreshes(page), { timeout: 5000 }).toBe(n + 1);
    expect(urls.filter((u) => u.includes(API_KEY))).toEqual([]);
    await shot(page, 'with-key');
    await page.close();
  });

  it('shows the recent alerts, and an alert firing refreshes the page live', async () => {
    const reader = fixture();
    const rounds: Array<() => void> = [];
    const server = await startServer({
      telemetry: {
        dir,
        dashboard: true,
        aggregates: reader,
        alerts: {
          rules: [{ id: 'checkout-errors', app: 'shop', metric: 'error_rate', threshold: 1 }],
          timers: { setTimeout: (fn: () => void) => rounds.push(fn), clearTimeout: () => {} },
        },
      },
    });
    // The window is the 5 minutes before now: 5 % errors there (and only these minutes: the hourly
    // fixture rows would fall into it at the start of an hour).
    reader.minutes = [];
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    for (let b = minute - 5 * 60_000; b < minute; b += 60_000) reader.minutes.push({ app: 'shop', env: 'production', bucket: b, views: 100, errors: 5 });
    const page = await chrome.browser.newPage({ viewport: { width: 1280, height: 900 } });
    await serveAggregates(page, reader, API_KEY);
    await page.goto(server.httpUrl + '/dashboard');
    await page.fill('#key', API_KEY);
    await page.click('#keyForm button');
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live', null, { timeout: 10_000 });
    expect(await page.textContent('#alerts tbody')).toBe('none');
    const n = await refreshes(page);
    rounds.shift()!(); // one evaluation: the rule fires, and `$telemetry` says so
    await page.waitForFunction(() => document.getElementById('alerts')?.textContent?.includes('firing'), null, { timeout: 5000 });
    expect(await refreshes(page)).toBeGreaterThan(n);
    const row = await page.locator('#alerts tbody tr').first().textContent();
    expect(row).toContain('checkout-errors');
    expect(row).toContain('error_rate5%firing');
    await shot(page, 'alert-firing');
    await page.close();
  });

  it('serves uPlot and the client bundle from node_modules; nothing else under /dashboard', async () => {
    const server = await startServer({ telemetry: { dir, dashboard: true } });
    const uplot = await fetch(server.httpUrl + '/dashboard/uplot.js');
    expect(uplot.status).toBe(200);
    expect(uplot.headers.get('content-type')).toContain('javascript');
    expect((await uplot.text()).length).toBeGreaterThan(40_000);
    expect((await fetch(server.httpUrl + '/dashboard/uplot.css')).status).toBe(200);
    expect((await fetch(server.httpUrl + '/dashboard/sdk-realtime.js')).status).toBe(200);
    expect(await (await fetch(server.httpUrl + '/dashboard/config.json')).json()).toEqual({
      dev: false,
      aggregatesPath: '/api/telemetry/aggregates',
      alertsPath: '/api/telemetry/alerts',
      topic: '$telemetry',
      pollInterval: 30_000,
    });
    expect((await fetch(server.httpUrl + '/dashboard/../package.json')).status).toBe(404);
    expect((await fetch(server.httpUrl + '/dashboard/nope.js')).status).toBe(404);
    expect((await fetch(server.httpUrl + '/dashboard', { method: 'POST' })).status).toBe(405);
    // POST /dashboard/token: the API key for a 10-minute client token of user $dashboard.
    const mint = (key?: string, body: unknown = { app: 'shop' }) =>
      fetch(server.httpUrl + '/dashboard/token', { method: 'POST', headers: key ? { authorization: `Bearer ${key}` } : {}, body: JSON.stringify(body) });
    expect((await mint()).status).toBe(401);
    expect((await mint('wrong')).status).toBe(401);
    expect((await mint(API_KEY, {})).status).toBe(400);
    const minted = (await (await mint(API_KEY)).json()) as { token: string; expiresIn: number };
    expect(minted.expiresIn).toBe(600);
    expect(JSON.parse(Buffer.from(minted.token.split('.')[1]!, 'base64url').toString())).toMatchObject({ sub: '$dashboard', app: 'shop' });
    expect((await fetch(server.httpUrl + '/dashboard/token')).status).toBe(405);
    const scoped = await startServer({ telemetry: { dir, dashboard: true }, tokens: { audience: 'api' } });
    // A server whose tokens need an audience would refuse what it signs: 501, the page keeps polling.
    const refused = await fetch(scoped.httpUrl + '/dashboard/token', { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: '{"app":"shop"}' });
    expect(refused.status).toBe(501);
    const off = await startServer({ telemetry: { dir } });
    expect((await fetch(off.httpUrl + '/dashboard')).status).toBe(404);
  });
});
