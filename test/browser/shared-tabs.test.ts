import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, notify, signToken, startServer, waitFor, type TestServer } from '../support/harness';
import { launchChromium } from '../support/browser';

/**
 * Two pages of one origin in real Chromium share ONE server connection: the tab holding the Web
 * Lock leads and relays for the other over a BroadcastChannel. Closing the leader page hands the
 * connection to the other page, whose client reconnects and recovers.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sdk-realtime-tabs-'));
  await build({
    stdin: {
      contents: `
        import { createClient } from 'sdk-realtime';
        import { sharedTabs, serveSharedWorker, sharedWorkerTransport } from './src/channel/index';
        (globalThis as any).sdk = { createClient, sharedTabs, serveSharedWorker, sharedWorkerTransport };
        if (typeof (globalThis as any).SharedWorkerGlobalScope == 'function') serveSharedWorker(self as never);
      `,
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    outfile: join(dir, 'sdk.js'),
    alias: { 'sdk-realtime': join(root, 'src/index.ts') },
    external: ['ws'],
    logLevel: 'silent',
  });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>tabs</title><script src="/sdk.js"></script>');
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(cleanup);

/** Open a page and start a client in it with the given transport kind; messages of topic `t` land in `window.got`. */
async function openTab(context: BrowserContext, server: TestServer, token: string, kind: 'tabs' | 'worker'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${server.httpUrl}/index.html`);
  await page.evaluate(
    ({ url, token, kind }) => {
      const w = window as any;
      const { createClient, sharedTabs, sharedWorkerTransport } = w.sdk;
      w.tabs = kind == 'tabs' ? sharedTabs({ name: 'test-tabs' }) : undefined;
      const transport = w.tabs ? w.tabs.transport : sharedWorkerTransport(new SharedWorker('/sdk.js', { name: 'sdk-realtime' }));
      w.got = [];
      w.client = createClient({ url, app: 'shop', token, transport, reconnect: { floor: 100, ceiling: 500 } });
      w.client.subscribe('t', (m: any) => w.got.push(m.data));
      w.client.connect();
    },
    { url: server.url, token, kind },
  );
  return page;
}
const got = (page: Page) => page.evaluate(() => (window as any).got as unknown[]);
const state = (page: Page) => page.evaluate(() => (window as any).client.state as string);
const role = (page: Page) => page.evaluate(() => (window as any).tabs?.role as string);
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000) {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('shared tabs in Chromium', () => {
  it('two pages receive a /notify through one server connection; when the leader page closes the other takes over and recovers', async () => {
    const server = await startServer({ serveStatic: dir });
    const token = await signToken('u1');
    const context = await browser.newContext();
    try {
      const first = await openTab(context, server, token, 'tabs');
      await until('first page connected', async () => (await state(first)) === 'connected');
      const second = await openTab(context, server, token, 'tabs');
      await until('second page connected', async () => (await state(second)) === 'connected');
      expect(await role(first)).toBe('leader');
      expect(await role(second)).toBe('follower');
      await waitFor(() => server.stats().subscriptions === 1, 'one server subscription for both pages', 15_000);
      expect(server.stats().connections).toBe(1);

      await notify(server, { appId: 'shop', eventTopics: ['t'], data: 'one' });
      await until('both pages got it', async () => (await got(first)).length === 1 && (await got(second)).length === 1);
      expect(server.stats().connections).toBe(1);

      await first.close(); // the leader goes; its lock is released, the second page takes over
      await notify(server, { appId: 'shop', eventTopics: ['t'], data: 'during takeover' });
      await until('second page leads', async () => (await role(second)) === 'leader');
      await until('second page reconnected', async () => (await state(second)) === 'connected');
      // The old leader's socket ends when Chromium closes its page: seconds on a loaded machine.
      await waitFor(() => server.stats().connections === 1, () => `one connection, from the new leader (${server.stats().connections} open)`, 15_000);
      await notify(server, { appId: 'shop', eventTopics: ['t'], data: 'two' });
      await until('second page got everything', async () => (await got(second)).length === 3);
      expect(await got(second)).toEqual(['one', 'during takeover', 'two']);
      expect(server.stats().connections).toBe(1);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('two pages share one connection through a SharedWorker', async () => {
    const server = await startServer({ serveStatic: dir });
    const token = await signToken('u1');
    const context = await browser.newContext();
    try {
      const pages = [await openTab(context, server, token, 'worker'), await openTab(context, server, token, 'worker')];
      for (const p of pages) await until('page connected', async () => (await state(p)) === 'connected');
      await waitFor(() => server.stats().subscriptions === 1, 'one server subscription', 15_000);
      expect(server.stats().connections).toBe(1);
      await notify(server, { appId: 'shop', eventTopics: ['t'], data: 'hello' });
      for (const p of pages) await until('page got it', async () => (await got(p)).length === 1);
      await pages[0]!.evaluate(() => (window as any).client.close());
      await notify(server, { appId: 'shop', eventTopics: ['t'], data: 'still' });
      await until('other page still served', async () => (await got(pages[1]!)).length === 2);
      expect(server.stats().connections).toBe(1);
    } finally {
      await context.close();
    }
  }, 60_000);
});
