import { build } from 'esbuild';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser';
import { cleanup, startServer } from '../support/harness';

let browser: Browser;
let site: string;
let data: string;

const PAGE = `<!doctype html><meta charset="utf-8"><title>telemetry</title>
<h1>shop</h1>
<script type="module">
  import { createTelemetry, errorsPlugin, webVitalsPlugin, routesPlugin, httpPlugin } from './telemetry.js';
  const t = createTelemetry({
    endpoint: location.origin,
    app: 'shop',
    env: 'browser-test',
    release: '9.9.9',
    // Nothing leaves by count or timer during the test: the last events must go by beacon on pagehide.
    batchSize: 1000,
    flushInterval: 600000,
    plugins: [errorsPlugin(), webVitalsPlugin(), routesPlugin(), httpPlugin()],
  });
  window.telemetry = t;
  t.ready.then(() => (window.telemetryReady = true));
</script>`;

beforeAll(async () => {
  site = await mkdtemp(join(tmpdir(), 'sdkrt-tel-site-'));
  // The telemetry bundle as an app would ship it: src/telemetry for the browser, with the vitals
  // plugin (its own entry, `sdk-realtime/telemetry/vitals`) and web-vitals included.
  const src = join(import.meta.dirname, '../../src/telemetry');
  await build({
    stdin: {
      contents: `export * from ${JSON.stringify(join(src, 'index.ts'))};\nexport { webVitalsPlugin } from ${JSON.stringify(join(src, 'plugins/vitals.ts'))};`,
      resolveDir: src,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    outfile: join(site, 'telemetry.js'),
    logLevel: 'silent',
  });
  await writeFile(join(site, 'index.html'), PAGE);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rm(site, { recursive: true, force: true });
});

afterEach(async () => {
  await cleanup();
  if (data) await rm(data, { recursive: true, force: true });
});

async function stored(): Promise<any[]> {
  const files = (await readdir(data).catch(() => [] as string[])).filter((f) => f.endsWith('.ndjson'));
  const out: any[] = [];
  for (const f of files) for (const l of (await readFile(join(data, f), 'utf8')).split('\n')) if (l) out.push(JSON.parse(l));
  return out;
}

describe('telemetry in Chromium', () => {
  it('events tracked just before the page closes arrive by sendBeacon on pagehide', async () => {
    data = await mkdtemp(join(tmpdir(), 'sdkrt-tel-data-'));
    const server = await startServer({ serveStatic: site, telemetry: { dir: data, config: { sampleRate: 1, deny: ['card'] } } });
    const page = await browser.newPage();
    await page.goto(`${server.httpUrl}/index.html`);
    await page.waitForFunction(() => (window as any).telemetryReady === true);
    await page.evaluate(async () => {
      const t = (window as any).telemetry;
      t.setUser('dana@example.com');
      t.trackEvent('add_to_cart', { sku: 'A-1', card: '4111 1111 1111 1111' });
      history.pushState(null, '', '/checkout/12345');
      await fetch('/healthz?probe=1');
      t.trackEvent('last_click', { n: 2 });
    });
    // Nothing was sent yet (no count, no timer): what arrives now left on pagehide.
    expect(await page.evaluate(() => (window as any).telemetry.stats().sent)).toBe(0);
    expect(await stored()).toEqual([]);
    await page.close({ runBeforeUnload: true });

    let lines: any[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      lines = await stored();
      if (lines.some((l) => l.name === 'last_click')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const names = lines.map((l) => `${l.type}:${l.name}`);
    expect(names).toContain('event:add_to_cart');
    expect(names).toContain('event:last_click');
    expect(names).toContain('page:/index.html');
    expect(names).toContain('page:/checkout/12345');
    expect(names).toContain('api:GET /healthz');
    const cart = lines.find((l) => l.name === 'add_to_cart');
    expect(cart).toMatchObject({ app: 'shop', env: 'browser-test', release: '9.9.9', props: { sku: 'A-1' }, rate: 1 });
    expect(cart.userId).toMatch(/^email:[0-9a-f]{8}$/);
    expect(lines.find((l) => l.name === '/checkout/12345').props.from).toBe('/index.html');
  });
});
