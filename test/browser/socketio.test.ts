import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { chromiumForFile } from '../support/browser';
import { cleanup, notify, signToken, startServer } from '../support/harness';

// The socket.io browser client (its own dist bundle) in real Chromium against the bridge.
const CLIENT = fileURLToPath(new URL('../../node_modules/socket.io-client/dist/socket.io.min.js', import.meta.url));

const chrome = chromiumForFile();
afterAll(cleanup);

describe('socket.io browser client against the bridge', () => {
  it('connects with a token (polling, then the WebSocket upgrade) and with trusted headers over polling, subscribes and gets dataUpdate and counts', async () => {
    const server = await startServer({ socketIo: { trustClientHeaders: true }, presenceInterval: 20 });
    const page = await chrome.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // Same origin as the server, so long-polling needs no CORS.
    await page.goto(server.httpUrl + '/healthz');
    await page.addScriptTag({ path: CLIENT });
    const token = await signToken('browser-user', { device: 'chrome-1' });
    await page.evaluate(
      async ({ url, token }) => {
        const w = window as unknown as { io: (url: string, o: object) => any; got: unknown[]; legacyGot: unknown[]; transport: () => string };
        w.got = [];
        w.legacyGot = [];
        const s = w.io(url + '/ecommerce-app', { auth: { token } });
        const legacy = w.io(url + '/ecommerce-app', { transports: ['polling'], extraHeaders: { 'x-client-id': 'legacy-user', 'x-device-id': 'web-legacy' }, forceNew: true });
        w.transport = () => s.io.engine.transport.name;
        s.on('dataUpdate', (p: unknown) => w.got.push(p));
        legacy.on('dataUpdate', (p: unknown) => w.legacyGot.push(p));
        const up = (x: any) => new Promise<void>((resolve, reject) => { x.on('connect', resolve); x.on('connect_error', reject); });
        await Promise.all([up(s), up(legacy)]);
        await s.emitWithAck('subscribe', ['order:12345:status']);
        await legacy.emitWithAck('subscribe', ['order:12345:status']);
        await s.emitWithAck('subscribeCount', ['order:12345:status']);
      },
      { url: server.httpUrl, token },
    );
    await page.waitForFunction(() => (window as unknown as { transport: () => string }).transport() === 'websocket', null, { timeout: 5000 });
    const res = await notify(server, { appId: 'ecommerce-app', users: ['browser-user'], devices: ['chrome-1', 'web-legacy'], eventTopics: ['order:12345:status'], data: { status: 'paid' } });
    expect(res.body.delivered).toBe(2);
    await page.waitForFunction(
      () => {
        const w = window as unknown as { got: Array<{ status?: string; count?: number }>; legacyGot: Array<{ status?: string }> };
        return w.got.some((p) => p.status === 'paid') && w.legacyGot.some((p) => p.status === 'paid') && w.got.some((p) => p.count === 2);
      },
      null,
      { timeout: 5000 },
    );
    const got = await page.evaluate(() => (window as unknown as { got: unknown[] }).got);
    expect(got.filter((p) => (p as { status?: string }).status === 'paid')).toHaveLength(1);
    expect(got).toContainEqual({ type: 'count', topic: 'order:12345:status', count: 2 });
    expect(errors).toEqual([]);
    await page.close();
  });
});
