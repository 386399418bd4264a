import { http, HttpResponse, delay } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchSender } from '../../src/telemetry/senders/fetch';
import { parseRetryAfter } from '../../src/telemetry/senders/retry-after';
import { createTelemetry } from '../../src/telemetry/tracker';
import type { TelemetryOptions } from '../../src/telemetry/options';
import { fakeEnv } from './helpers';

const BASE = 'http://telemetry.test';
const URL_BATCH = `${BASE}/api/telemetry/batch`;
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

type Hit = { at: number; events: any[]; contentType: string | null };

/** Serve the batch endpoint with `answer(n)` for the n-th request; config answers `config`. */
function serve(answer: (n: number, events: any[]) => Response | Promise<Response>, config: any = {}) {
  const hits: Hit[] = [];
  server.use(
    http.get(`${BASE}/api/telemetry/config`, () => HttpResponse.json(config)),
    http.post(URL_BATCH, async ({ request }) => {
      const body = JSON.parse(await request.text());
      hits.push({ at: Date.now(), events: body.events, contentType: request.headers.get('content-type') });
      return answer(hits.length - 1, body.events);
    }),
  );
  return hits;
}

function telemetry(over: Partial<TelemetryOptions> = {}) {
  return createTelemetry({
    endpoint: BASE,
    app: 'shop',
    storage: false,
    environment: fakeEnv().env,
    privacy: { doNotTrack: false, gpc: false },
    spacing: 0,
    backoff: { floor: 20, ceiling: 80 },
    ...over,
  });
}

describe('fetch sender against HTTP edge cases (msw)', () => {
  it('posts text/plain JSON (no CORS preflight) and counts the events sent', async () => {
    const hits = serve(() => HttpResponse.json({ accepted: 1 }, { status: 202 }));
    const t = telemetry();
    t.trackEvent('a');
    await t.flush();
    expect(hits).toHaveLength(1);
    expect(hits[0]!.contentType).toMatch(/^text\/plain/);
    expect(t.stats().sent).toBe(1);
    t.stop();
  });

  it('429 with Retry-After pauses the whole queue for that long, then sends everything', async () => {
    const hits = serve((n) => (n === 0 ? new HttpResponse(null, { status: 429, headers: { 'retry-after': '1' } }) : new HttpResponse(null, { status: 202 })));
    const t = telemetry({ batchSize: 1, concurrency: 1 });
    t.trackEvent('a');
    t.trackEvent('b');
    await t.flush();
    expect(hits.map((h) => h.events[0].name)).toEqual(['a', 'a', 'b']);
    expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(950);
    expect(hits[2]!.at - hits[0]!.at).toBeGreaterThanOrEqual(950);
    expect(t.stats()).toMatchObject({ sent: 2, dropped: { failed: 0 } });
    t.stop();
  });

  it('413 halves the batch until the server takes it', async () => {
    const hits = serve((_n, events) => new HttpResponse(null, { status: events.length > 4 ? 413 : 202 }));
    const t = telemetry();
    for (let i = 0; i < 16; i++) t.trackEvent('e' + i);
    await t.flush();
    expect(hits.map((h) => h.events.length)).toEqual([16, 8, 8, 4, 4, 4, 4]);
    expect(hits.filter((h) => h.events.length === 4).flatMap((h) => h.events.map((e) => e.name)).sort()).toEqual(
      Array.from({ length: 16 }, (_, i) => 'e' + i).sort(),
    );
    expect(t.stats().sent).toBe(16);
    t.stop();
  });

  it('retries 5xx and network errors with backoff, then succeeds', async () => {
    const hits = serve((n) => (n === 0 ? new HttpResponse(null, { status: 500 }) : n === 1 ? HttpResponse.error() : new HttpResponse(null, { status: 202 })));
    const t = telemetry();
    t.trackEvent('a');
    await t.flush();
    expect(hits).toHaveLength(3);
    expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(20);
    expect(t.stats()).toMatchObject({ sent: 1, dropped: { failed: 0 } });
    t.stop();
  });

  it('gives up after `retries` failures and counts the events as failed', async () => {
    const hits = serve(() => new HttpResponse(null, { status: 502 }));
    const t = telemetry({ retries: 2 });
    t.trackEvent('a');
    t.trackEvent('b');
    await t.flush();
    expect(hits).toHaveLength(3);
    expect(t.stats()).toMatchObject({ sent: 0, queued: 0, dropped: { failed: 2 } });
    t.stop();
  });

  it('aborts an upload at `timeout` and retries it', async () => {
    const hits = serve(async (n) => {
      if (n === 0) await delay(2000);
      return new HttpResponse(null, { status: 202 });
    });
    const t = telemetry({ timeout: 150 });
    const start = Date.now();
    t.trackEvent('slow');
    await t.flush();
    expect(hits).toHaveLength(2);
    expect(Date.now() - start).toBeLessThan(1500);
    expect(t.stats().sent).toBe(1);
    t.stop();
  });

  it('uses the remote config served at /api/telemetry/config', async () => {
    const hits = serve(() => new HttpResponse(null, { status: 202 }), { deny: ['card'], plugins: [] });
    const plugin = { name: 'errors', setup: () => () => {} };
    let started = false;
    const t = telemetry({ plugins: [{ ...plugin, setup: () => ((started = true), () => {}) }] });
    await t.ready;
    t.trackEvent('buy', { card: '4111', sku: 'x' });
    await t.flush();
    expect(hits[0]!.events[0].props).toEqual({ sku: 'x' });
    expect(started).toBe(false);
    t.stop();
  });

  it('a 4xx config answer falls back to the options', async () => {
    server.use(http.get(`${BASE}/api/telemetry/config`, () => new HttpResponse(null, { status: 500 })));
    const hits: any[] = [];
    server.use(http.post(URL_BATCH, async ({ request }) => (hits.push(await request.text()), new HttpResponse(null, { status: 202 }))));
    const t = telemetry({ sampleRate: 1 });
    t.trackEvent('x');
    await t.flush();
    expect(hits).toHaveLength(1);
    t.stop();
  });

  it('unload() uses sendBeacon when given, else a keepalive fetch', async () => {
    const beacons: Array<[string, string]> = [];
    const s = fetchSender({ url: URL_BATCH, sendBeacon: (u, b) => (beacons.push([u, b]), true) });
    expect(s.unload!('{"v":1}')).toBe(true);
    expect(beacons).toEqual([[URL_BATCH, '{"v":1}']]);
    const hits = serve(() => new HttpResponse(null, { status: 202 }));
    const k = fetchSender({ url: URL_BATCH, sendBeacon: undefined });
    const nav = (globalThis as any).navigator;
    if (!nav?.sendBeacon) {
      expect(k.unload!(JSON.stringify({ v: 1, events: [{ name: 'k' }] }))).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(hits).toHaveLength(1);
    }
    expect(fetchSender({ url: URL_BATCH, sendBeacon: false }).unload).toBeUndefined();
  });
});

describe('Retry-After parsing', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
