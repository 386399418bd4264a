import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../server/src/index';
import { chromiumForFile } from '../support/browser';
import { API_KEY, cleanup, startServer } from '../support/harness';

// What `npm start` promises a new user: open the demo page, and its page view is in the
// aggregates moments later (real Chromium, the built telemetry bundle, a real SQLite file).
const chrome = chromiumForFile();
afterAll(cleanup);

describe('demo page telemetry (npm start)', () => {
  it("the page's own page view shows in GET /api/telemetry/aggregates", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sdkrt-demo-telemetry-'));
    const store = sqliteStore({ file: join(dir, 'telemetry.db'), rollupInterval: 200, logger: { info() {}, warn() {}, error() {} } });
    const server = await startServer({ dev: true, demo: true, telemetry: { store } } as never);
    const page = await chrome.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.httpUrl + '/');
    let rows: any[] = [];
    for (const started = Date.now(); Date.now() - started < 10_000 && rows.length === 0; await new Promise((r) => setTimeout(r, 200))) {
      const res = await fetch(`${server.httpUrl}/api/telemetry/aggregates?app=demo&kind=traffic&granularity=minute`, { headers: { authorization: `Bearer ${API_KEY}` } });
      rows = ((await res.json()) as any).rows;
    }
    expect(rows).toMatchObject([{ page: '/', views: 1, sessions: 1 }]);
    expect(errors).toEqual([]);
    await page.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }, 30_000);
});
