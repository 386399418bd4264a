import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import vue from '@vitejs/plugin-vue';
import type { Page } from 'playwright-core';
import { build, type PluginOption } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../server/src/index';
import { chromiumForFile } from '../support/browser';
import { API_KEY, cleanup, notify, onCleanup } from '../support/harness';
import { startProxy } from '../support/proxy';

/**
 * The example apps (examples/react-vite, examples/vue-vite), built with Vite from this checkout's
 * sources, served by the real reference server and driven in real Chromium: /notify updates the
 * board; a dropped connection while the server keeps running replays exactly what was missed; a
 * server restart (in-memory history: a new epoch) shows `reconnecting`, then a missed-updates
 * notice and no replay (the app refetches), then live updates again.
 */
const repo = fileURLToPath(new URL('../..', import.meta.url));
const src = (file: string) => join(repo, 'src', file);

/** Build an example into a temp dir with the root toolchain; `sdk-realtime*` resolve to src/. */
async function buildExample(name: string, plugin: PluginOption): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), `sdk-realtime-${name}-`));
  await build({
    root: join(repo, 'examples', name),
    configFile: false,
    logLevel: 'error',
    plugins: [plugin],
    resolve: {
      alias: [
        { find: /^sdk-realtime\/react$/, replacement: src('react/index.ts') },
        { find: /^sdk-realtime\/vue$/, replacement: src('vue/index.ts') },
        { find: /^sdk-realtime$/, replacement: src('index.ts') },
      ],
    },
    build: { outDir, emptyOutDir: true, reportCompressedSize: false },
  });
  return outDir;
}

const STEP = 10_000;
const chrome = chromiumForFile();
afterEach(cleanup);

const examples = [
  { name: 'react-vite', plugin: () => react() },
  { name: 'vue-vite', plugin: () => vue() },
];

describe.each(examples)('example $name in Chromium', ({ name, plugin }) => {
  let dir: string;
  beforeAll(async () => {
    dir = await buildExample(name, plugin());
  }, 120_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const start = (port = 0) =>
    createServer({ port, host: '127.0.0.1', dev: true, apiKey: API_KEY, serveStatic: dir, presenceInterval: 50, logger: false });

  const order = (server: { httpUrl: string }, id: string, status: string) =>
    notify(server, { appId: 'shop', eventTopics: ['orders'], data: { id, status, item: `item ${id}` } });

  const status = (page: Page, id: string) => page.getByTestId(`status-${id}`);
  const connection = (page: Page) => page.getByTestId('connection');

  it('shows /notify updates live, the online count, and a gap notice after a server restart', async () => {
    let server = await start();
    const port = server.port;
    onCleanup(() => server.close());
    // The page talks WebSocket through a proxy, so the test decides when it may reconnect.
    const proxy = await startProxy(port);
    onCleanup(() => proxy.close());

    const page = await chrome.browser.newPage();
    onCleanup(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.httpUrl}/?user=alice&url=${encodeURIComponent(proxy.url())}`, { timeout: STEP });

    await expect.poll(() => connection(page).getAttribute('data-state'), { timeout: STEP }).toBe('connected');
    await expect.poll(() => server.stats().subscriptions, { timeout: STEP }).toBe(1);

    expect((await order(server, 'o-1', 'paid')).body.delivered).toBe(1);
    await expect.poll(() => status(page, 'o-1').textContent(), { timeout: STEP }).toBe('paid');
    await expect.poll(() => page.getByTestId('online').getAttribute('data-users'), { timeout: STEP }).toBe('1');

    // A second viewer shows up in the badge.
    const other = await chrome.browser.newPage();
    onCleanup(() => other.close());
    await other.goto(`${server.httpUrl}/?user=bob&url=${encodeURIComponent(proxy.url())}`, { timeout: STEP });
    await expect.poll(() => page.getByTestId('online').getAttribute('data-users'), { timeout: STEP }).toBe('2');
    await other.close();
    await expect.poll(() => page.getByTestId('online').getAttribute('data-users'), { timeout: STEP }).toBe('1');

    // Kill the server; keep the page out until the restarted server has new updates.
    proxy.refuse();
    await server.close();
    await expect.poll(() => connection(page).getAttribute('data-state'), { timeout: STEP }).toBe('reconnecting');

    server = await start(port);
    expect((await order(server, 'o-1', 'shipped')).status).toBe(200);
    expect((await order(server, 'o-2', 'new')).status).toBe(200);
    expect(await status(page, 'o-1').textContent()).toBe('paid');

    proxy.accept();
    await expect.poll(() => connection(page).getAttribute('data-state'), { timeout: STEP }).toBe('connected');
    // The restarted in-memory server lost its history: nothing is replayed (a replay after which
    // the app refetches would apply twice); the page is told it may have missed updates.
    await expect.poll(() => page.getByTestId('gap').count(), { timeout: STEP }).toBe(1);
    expect(await status(page, 'o-1').textContent()).toBe('paid');

    // And live updates flow again.
    await order(server, 'o-2', 'paid');
    await expect.poll(() => status(page, 'o-2').textContent(), { timeout: STEP }).toBe('paid');
    expect(errors).toEqual([]);
  }, 90_000);

  it('pointed at another server with ?url=, takes its token from that server and replays what a dropped connection missed', async () => {
    // The page comes from one server; the realtime server is another (its own random dev secret).
    const site = await start();
    onCleanup(() => site.close());
    const rt = await createServer({ port: 0, host: '127.0.0.1', dev: true, apiKey: API_KEY, presenceInterval: 50, logger: false });
    onCleanup(() => rt.close());
    const proxy = await startProxy(rt.port);
    onCleanup(() => proxy.close());

    const page = await chrome.browser.newPage();
    onCleanup(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // No tokenUrl: derived from ?url= (same host and port: the proxy in front of rt).
    await page.goto(`${site.httpUrl}/?user=alice&url=${encodeURIComponent(proxy.url())}`, { timeout: STEP });
    await expect.poll(() => connection(page).getAttribute('data-state'), { timeout: STEP }).toBe('connected');
    await expect.poll(() => rt.stats().subscriptions, { timeout: STEP }).toBe(1);
    expect(site.stats().connections).toBe(0);
    await order(rt, 'o-1', 'paid');
    await expect.poll(() => status(page, 'o-1').textContent(), { timeout: STEP }).toBe('paid');

    // The network drops (the server keeps running); updates are published meanwhile.
    proxy.refuse();
    proxy.drop();
    await expect.poll(() => connection(page).getAttribute('data-state'), { timeout: STEP }).toBe('reconnecting');
    expect((await order(rt, 'o-1', 'shipped')).body.delivered).toBe(0);
    await order(rt, 'o-2', 'new');
    proxy.accept();
    await expect.poll(() => connection(page).getAttribute('data-state'), { timeout: STEP }).toBe('connected');
    await expect.poll(() => status(page, 'o-1').textContent(), { timeout: STEP }).toBe('shipped');
    await expect.poll(() => status(page, 'o-2').textContent(), { timeout: STEP }).toBe('new');
    // Everything missed was replayed from the server's history: no missed-updates notice.
    expect(await page.getByTestId('gap').count()).toBe(0);

    // An explicit tokenUrl works the same, without a proxy.
    const direct = await chrome.browser.newPage();
    onCleanup(() => direct.close());
    const q = `url=${encodeURIComponent(rt.url)}&tokenUrl=${encodeURIComponent(rt.httpUrl + '/dev/token')}`;
    await direct.goto(`${site.httpUrl}/?user=bob&${q}`, { timeout: STEP });
    await expect.poll(() => connection(direct).getAttribute('data-state'), { timeout: STEP }).toBe('connected');
    await expect.poll(() => rt.stats().subscriptions, { timeout: STEP }).toBe(2);
    await order(rt, 'o-3', 'new');
    await expect.poll(() => status(direct, 'o-3').textContent({ timeout: STEP }), { timeout: STEP }).toBe('new');
    await expect.poll(() => status(page, 'o-3').textContent({ timeout: STEP }), { timeout: STEP }).toBe('new');
    expect(errors).toEqual([]);
  }, 90_000);
});
