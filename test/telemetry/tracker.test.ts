import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryStorage } from '../../src/storage/memory';
import { createTelemetry } from '../../src/telemetry/tracker';
import { inSample } from '../../src/telemetry/sampling';
import { tracker } from './helpers';

/** Await `p` while driving fake timers (spacing and backoff waits). */
async function drive<T>(p: Promise<T>): Promise<T> {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 10_000 && !done; i++) await vi.advanceTimersByTimeAsync(50);
  return p;
}

const events = (batches: { events: unknown[] }[]) => batches.flatMap((b) => b.events) as any[];

describe('createTelemetry options', () => {
  it.each([
    [{}, 'app'],
    [{ app: '' }, 'app'],
    [{ app: 'a' }, 'endpoint'],
    [{ app: 'a', endpoint: 'http://x', sampleRate: 2 }, 'sampleRate'],
    [{ app: 'a', endpoint: 'http://x', batchSize: 0 }, 'batchSize'],
    [{ app: 'a', endpoint: 'http://x', unloadBudget: 70_000 }, 'unloadBudget'],
    [{ app: 'a', endpoint: 'http://x', consent: 'maybe' }, 'consent'],
    [{ app: 'a', endpoint: 'http://x', deny: ['a', 1] }, 'deny'],
    [{ app: 'a', endpoint: 'http://x', sender: 1 }, 'sender'],
    [{ app: 'a', endpoint: 'http://x', env: '' }, 'env'],
  ])('%j throws a TypeError naming "%s"', (opts, name) => {
    expect(() => createTelemetry(opts as any)).toThrow(TypeError);
    expect(() => createTelemetry(opts as any)).toThrow(`"${name}"`);
  });
});

describe('tracker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stamps every event with app, env, release, user, session, type, name, props, ts and rate', async () => {
    const { t, sent } = tracker();
    await t.ready;
    const t0 = Date.now();
    t.setUser('u1');
    t.trackPageView('/home', { ref: 'ad' });
    t.trackEvent('click', { id: 3 });
    t.trackError(new TypeError('boom'));
    t.trackPerf('LCP', 1234.5);
    t.trackApi('GET /orders/:id', { status: 200, duration: 12 });
    await drive(t.flush());
    const ev = events(sent);
    expect(ev.map((e) => [e.type, e.name])).toEqual([
      ['page', '/home'],
      ['event', 'click'],
      ['error', 'TypeError'],
      ['perf', 'LCP'],
      ['api', 'GET /orders/:id'],
    ]);
    expect(ev.find((e) => e.type === 'page')).toEqual({
      app: 'shop', env: 'test', release: '1.2.3', userId: 'u1', sessionId: 'session-1',
      type: 'page', name: '/home', props: { ref: 'ad' }, ts: t0, rate: 1,
    });
    expect(ev.find((e) => e.type === 'perf').props).toEqual({ value: 1234.5 });
    expect(ev.find((e) => e.type === 'error').props.message).toBe('boom');
    expect(t.stats()).toEqual({ queued: 0, sent: 5, dropped: { sampled: 0, consent: 0, overflow: 0, tooLarge: 0, expired: 0, failed: 0 } });
    t.stop();
  });

  it('flushes at 20 events, or 10 s after the first', async () => {
    const { t, sent } = tracker();
    await t.ready;
    for (let i = 0; i < 25; i++) t.trackEvent('e' + i);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((b) => b.events.length)).toEqual([20]);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(sent.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent.map((b) => b.events.length)).toEqual([20, 5]);
    t.stop();
  });

  it('splits a flush by maxBatchBytes and drops events over maxEventBytes as tooLarge', async () => {
    const { t, sent } = tracker({ maxBatchBytes: 2048, maxEventBytes: 1024 });
    await t.ready;
    for (let i = 0; i < 6; i++) t.trackEvent('e', { pad: 'x'.repeat(500) });
    t.trackEvent('huge', { pad: 'x'.repeat(2000) });
    await drive(t.flush());
    expect(sent.every((b) => JSON.stringify(b.events).length <= 2048)).toBe(true);
    expect(events(sent).length).toBe(6);
    expect(t.stats().dropped.tooLarge).toBe(1);
    t.stop();
  });

  it('flushes when the page hides, by beacon, within the 60 KiB unload budget', async () => {
    const { t, sent, beaconed, fire, storage } = tracker({ maxBatchBytes: 20_000 });
    await t.ready;
    t.pause();
    // ~100 KiB waiting: only up to 60 KiB may go by beacon.
    for (let i = 0; i < 100; i++) t.trackEvent('e', { pad: 'x'.repeat(900) });
    fire('hidden');
    const beaconBytes = beaconed.reduce((n, b) => n + JSON.stringify(b).length, 0);
    expect(beaconBytes).toBeLessThanOrEqual(60 * 1024);
    expect(beaconBytes).toBeGreaterThan(40 * 1024);
    fire('pagehide');
    expect(beaconed.reduce((n, b) => n + JSON.stringify(b).length, 0)).toBe(beaconBytes);
    expect(sent).toEqual([]);
    const left = JSON.parse((await storage.get('sdkrt.telemetry.shop'))!);
    expect(left.reduce((n: number, i: any) => n + i.e.length, 0) + events(beaconed).length).toBe(100);
    expect(t.stats().sent).toBe(events(beaconed).length);
    // Visible again: a fresh budget.
    fire('visible');
    t.trackEvent('after');
    fire('pagehide');
    expect(events(beaconed).length).toBeGreaterThan(events(beaconed).length - 1);
    t.stop();
  });

  it('flushes when the network comes back', async () => {
    const { t, sent, fire } = tracker();
    await t.ready;
    t.trackEvent('a');
    fire('online');
    await vi.advanceTimersByTimeAsync(0);
    expect(events(sent).map((e) => e.name)).toEqual(['a']);
    t.stop();
  });

  it('halves a batch on 413 until it fits, and drops a single event refused as tooLarge', async () => {
    const { t, sent } = tracker({}, (b) => ({ status: b.events.length > 5 || b.events.some((e) => e.name === 'big') ? 413 : 200 }));
    await t.ready;
    for (let i = 0; i < 19; i++) t.trackEvent('e' + i);
    t.trackEvent('big');
    await drive(t.flush());
    expect(sent.map((b) => b.events.length).slice(0, 7)).toEqual([20, 10, 10, 5, 5, 5, 5]);
    expect(sent.filter((b) => b.events.length === 1 && b.events[0]!.name === 'big').length).toBe(1);
    expect(t.stats()).toMatchObject({ sent: 19, queued: 0, dropped: { tooLarge: 1 } });
    t.stop();
  });

  it('retries 5xx and network failures with backoff, then drops as failed', async () => {
    const { t, sent } = tracker({ retries: 2 }, () => ({ status: 503 }));
    await t.ready;
    t.trackEvent('a');
    t.trackEvent('b');
    void t.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent.length).toBe(3);
    expect(t.stats()).toMatchObject({ sent: 0, queued: 0, dropped: { failed: 2 } });
    t.stop();
  });

  it('drops events refused with another 4xx as failed, without retrying', async () => {
    const { t, sent } = tracker({}, () => ({ status: 400 }));
    await t.ready;
    t.trackEvent('a');
    await drive(t.flush());
    expect(sent.length).toBe(1);
    expect(t.stats().dropped.failed).toBe(1);
    t.stop();
  });

  it('samples whole sessions and stamps the rate on kept events', async () => {
    const kept = Array.from({ length: 50 }, (_, i) => 's' + i).find((s) => inSample(s, 0.5))!;
    const dropped = Array.from({ length: 50 }, (_, i) => 's' + i).find((s) => !inSample(s, 0.5))!;
    const a = tracker({ sampleRate: 0.5, sessionId: kept });
    const b = tracker({ sampleRate: 0.5, sessionId: dropped });
    await Promise.all([a.t.ready, b.t.ready]);
    for (const x of [a, b]) x.t.trackEvent('e');
    await Promise.all([a.t.flush(), b.t.flush()]);
    expect(events(a.sent)[0].rate).toBe(0.5);
    expect(b.sent).toEqual([]);
    expect(b.t.stats().dropped.sampled).toBe(1);
  });

  it('holds events while consent is pending, sends them once granted, drops them when denied', async () => {
    const a = tracker({ consent: 'pending' });
    await a.t.ready;
    a.t.trackEvent('early');
    await drive(a.t.flush());
    expect(a.sent).toEqual([]);
    expect(a.t.stats().queued).toBe(1);
    a.t.setConsent('granted');
    await drive(a.t.flush());
    expect(events(a.sent).map((e) => e.name)).toEqual(['early']);

    const b = tracker({ consent: 'pending' });
    b.t.trackEvent('x');
    b.t.setConsent('denied');
    b.t.trackEvent('y');
    await drive(b.t.flush());
    expect(b.sent).toEqual([]);
    expect(b.t.stats().dropped.consent).toBe(2);
  });

  it('Do-Not-Track and Global Privacy Control stop collection unless told otherwise', async () => {
    const dnt = tracker({ privacy: { doNotTrack: true, gpc: false } });
    const gpc = tracker({ privacy: { doNotTrack: false, gpc: true } });
    const ignored = tracker({ privacy: { doNotTrack: true, gpc: true }, respectPrivacySignals: false });
    for (const x of [dnt, gpc, ignored]) {
      await x.t.ready;
      x.t.trackEvent('e');
      await x.t.flush();
    }
    expect(dnt.sent).toEqual([]);
    expect(gpc.t.stats().dropped.consent).toBe(1);
    expect(ignored.sent.length).toBe(1);
  });

  it('scrubs PII and applies allow/deny lists from the remote config', async () => {
    const { t, sent } = tracker({
      remoteConfig: async () => ({ deny: ['card'], allow: ['email', 'card', 'ip', 'nested'] }),
    });
    await t.ready;
    t.setUser('bob@example.com');
    t.trackEvent('signup bob@example.com', {
      email: 'Bob@Example.com', ip: '198.51.100.23', card: '4111', nested: { password: 'p', phone: '+86 138 0013 8000' }, other: 1,
    });
    await drive(t.flush());
    const [e] = events(sent);
    expect(JSON.stringify(e)).not.toMatch(/bob@|198\.51\.100\.23|138 0013|"p"|4111/i);
    expect(e.userId).toMatch(/^email:[0-9a-f]{8}$/);
    expect(e.props).toEqual({ email: e.userId, ip: '198.51.100.0', nested: { phone: expect.stringMatching(/^phone:/) } });
  });

  it('remote config: sampleRate 0 or enabled false drop, a failed load falls back to the cache', async () => {
    const storage = memoryStorage();
    const a = tracker({ storage, remoteConfig: async () => ({ sampleRate: 0 }) });
    await a.t.ready;
    a.t.trackEvent('e');
    expect(a.t.stats().dropped.sampled).toBe(1);
    const b = tracker({ storage, remoteConfig: async () => { throw new Error('offline'); } });
    await b.t.ready;
    b.t.trackEvent('e');
    expect(b.t.stats().dropped.sampled).toBe(1);
    const c = tracker({ remoteConfig: async () => ({ enabled: false }) });
    await c.t.ready;
    c.t.trackEvent('e');
    expect(c.t.stats().dropped.consent).toBe(1);
    const d = tracker({ remoteConfig: async () => { throw new Error('offline'); } });
    await d.t.ready;
    d.t.trackEvent('e');
    await d.t.flush();
    expect(d.sent.length).toBe(1);
  });

  it('persists unsent batches and sends them after a restart', async () => {
    const storage = memoryStorage();
    const a = tracker({ storage }, () => ({ status: 0 }));
    await a.t.ready;
    a.t.trackEvent('offline-1');
    a.t.trackEvent('offline-2');
    a.t.stop();
    expect(a.t.stats().queued).toBe(2);
    const b = tracker({ storage });
    await b.t.ready;
    await drive(b.t.flush());
    expect(events(b.sent).map((e) => e.name)).toEqual(['offline-1', 'offline-2']);
    expect(JSON.parse((await storage.get('sdkrt.telemetry.shop'))!)).toEqual([]);
  });

  it('caps the persisted queue by count (oldest dropped as overflow) and by age (expired)', async () => {
    const storage = memoryStorage();
    const a = tracker({ storage, maxQueuedEvents: 30 }, () => ({ status: 0 }));
    await a.t.ready;
    a.t.pause();
    for (let i = 0; i < 50; i++) t0Event(a.t, i);
    a.t.stop();
    expect(a.t.stats()).toMatchObject({ queued: 30, dropped: { overflow: 20 } });

    vi.advanceTimersByTime(25 * 3600_000);
    const b = tracker({ storage });
    await b.t.ready;
    await drive(b.t.flush());
    expect(b.sent).toEqual([]);
    expect(b.t.stats().dropped.expired).toBe(30);
  });

  it('reports queue progress and stop() removes every listener and plugin', async () => {
    const teardown = vi.fn();
    const { t, listeners } = tracker({ plugins: [{ name: 'p', setup: () => teardown }] });
    const seen: string[] = [];
    t.onProgress((e) => seen.push(e.type));
    await t.ready;
    t.trackEvent('a');
    await drive(t.flush());
    expect(seen).toEqual(['start', 'done']);
    t.stop();
    t.stop();
    expect(teardown).toHaveBeenCalledTimes(1);
    expect(listeners()).toBe(0);
    t.trackEvent('ignored');
    expect(t.stats().queued).toBe(0);
  });

  it('starts only the plugins the remote config enables', async () => {
    const a = vi.fn(() => () => {});
    const b = vi.fn(() => () => {});
    const { t } = tracker({ remoteConfig: async () => ({ plugins: ['a'] }), plugins: [{ name: 'a', setup: a }, { name: 'b', setup: b }] });
    await t.ready;
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).not.toHaveBeenCalled();
    t.stop();
  });
});

function t0Event(t: { trackEvent(n: string): void }, i: number) {
  t.trackEvent('e' + i);
  if (i % 10 === 9) vi.advanceTimersByTime(10_000);
}
