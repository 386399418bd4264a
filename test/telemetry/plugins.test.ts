// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '../../src/index';
import { errorsPlugin } from '../../src/telemetry/plugins/errors';
import { httpPlugin, routeOf } from '../../src/telemetry/plugins/http';
import { realtimePlugin, type ObservableClient } from '../../src/telemetry/plugins/realtime';
import { reactRouteTracker, routeTracker, vueRouteTracker } from '../../src/telemetry/plugins/route-tracker';
import { routesPlugin } from '../../src/telemetry/plugins/routes';
import { webVitalsPlugin } from '../../src/telemetry/plugins/vitals';
import type { TrackApi } from '../../src/telemetry/types';

vi.mock('web-vitals', () => {
  const make = (name: string) => (cb: (m: unknown) => void) =>
    queueMicrotask(() => cb({ name, value: name === 'CLS' ? 0.05 : 1200, rating: 'good', delta: 1, id: 'v1-' + name, navigationType: 'navigate' }));
  return { onLCP: make('LCP'), onINP: make('INP'), onCLS: make('CLS'), onTTFB: make('TTFB'), onFCP: make('FCP') };
});

/** A TrackApi that records calls as [method, ...args]. */
function recorder() {
  const calls: any[][] = [];
  const api = new Proxy({} as TrackApi, { get: (_t, k) => (...args: unknown[]) => calls.push([k, ...args]) });
  return { api, calls };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('errors plugin', () => {
  // Keep the test runner from treating the dispatched events as real uncaught errors.
  const swallow = (e: Event) => e.preventDefault();
  beforeEach(() => window.addEventListener('error', swallow));
  afterEach(() => window.removeEventListener('error', swallow));

  it('reports uncaught errors and unhandled rejections until torn down', () => {
    const { api, calls } = recorder();
    const stop = errorsPlugin().setup(api);
    const err = new Error('boom');
    window.dispatchEvent(new ErrorEvent('error', { cancelable: true, error: err, message: 'boom', filename: 'app.js', lineno: 3, colno: 7 }));
    const rej = new Event('unhandledrejection') as any;
    rej.reason = 'nope';
    window.dispatchEvent(rej);
    window.dispatchEvent(new Event('error')); // resource error: no message, ignored
    expect(calls).toEqual([
      ['trackError', err, { source: 'app.js', line: 3, column: 7, handled: false }],
      ['trackError', 'nope', { unhandledRejection: true, handled: false }],
    ]);
    stop();
    window.dispatchEvent(new ErrorEvent('error', { cancelable: true, error: err, message: 'boom' }));
    expect(calls).toHaveLength(2);
  });

  it('stops at `max` errors per page', () => {
    const { api, calls } = recorder();
    const stop = errorsPlugin({ max: 2 }).setup(api);
    for (let i = 0; i < 5; i++) window.dispatchEvent(new ErrorEvent('error', { cancelable: true, message: 'loop' }));
    expect(calls).toHaveLength(2);
    stop();
  });
});

describe('web vitals plugin', () => {
  it('reports LCP, INP, CLS, TTFB and FCP as perf events', async () => {
    const { api, calls } = recorder();
    const stop = webVitalsPlugin().setup(api);
    await Promise.resolve();
    expect(calls.map((c) => c[1]).sort()).toEqual(['CLS', 'FCP', 'INP', 'LCP', 'TTFB']);
    expect(calls.find((c) => c[1] === 'LCP')).toEqual(['trackPerf', 'LCP', 1200, { rating: 'good', delta: 1, id: 'v1-LCP', navigationType: 'navigate' }]);
    stop();
  });
});

describe('routes plugin and helpers', () => {
  it('sends a page view per history change with the previous path and stay time, and restores history', () => {
    vi.useFakeTimers();
    const { api, calls } = recorder();
    const push = history.pushState;
    history.replaceState(null, '', '/start?x=1');
    const stop = routesPlugin().setup(api);
    vi.advanceTimersByTime(1500);
    history.pushState(null, '', '/orders/1?tab=2');
    vi.advanceTimersByTime(500);
    history.replaceState(null, '', '/orders/1#top'); // same path: ignored
    history.pushState(null, '', '/cart');
    expect(calls).toEqual([
      ['trackPageView', '/start', {}],
      ['trackPageView', '/orders/1', { from: '/start', stay: 1500 }],
      ['trackPageView', '/cart', { from: '/orders/1', stay: 500 }],
    ]);
    window.dispatchEvent(new PopStateEvent('popstate'));
    expect(calls).toHaveLength(3);
    stop();
    expect(history.pushState).toBe(push);
    history.pushState(null, '', '/after');
    expect(calls).toHaveLength(3);
  });

  it('React and Vue helpers are plain functions over router events', () => {
    let t = 0;
    const { api, calls } = recorder();
    const track = routeTracker(api, () => t);
    track('/a');
    t = 10;
    track('/b');
    expect(calls[1]).toEqual(['trackPageView', '/b', { from: '/a', stay: 10 }]);

    const r = recorder();
    const onLocation = reactRouteTracker(r.api);
    onLocation({ pathname: '/x' });
    onLocation({ pathname: '/x' });
    expect(r.calls.map((c) => c[1])).toEqual(['/x']);

    const v = recorder();
    const afterEach = vueRouteTracker(v.api);
    afterEach({ path: '/orders/42', matched: [{ path: '/orders/:id' }] });
    afterEach({ path: '/nope' }, undefined, new Error('aborted'));
    afterEach({ path: '/plain' });
    expect(v.calls.map((c) => c[1])).toEqual(['/orders/:id', '/plain']);
  });
});

describe('http plugin', () => {
  it('templates ids out of routes and drops the query', () => {
    expect(routeOf('https://api.x.io/v1/orders/12345/items/9?page=2#a')).toBe('/v1/orders/:id/items/:id');
    expect(routeOf('/users/3f2b8c1e-1111-4a2b-9c3d-1234567890ab/profile')).toBe('/users/:id/profile');
    expect(routeOf('/files/deadbeefcafe0123')).toBe('/files/:id');
    expect(routeOf('/tokens/abcDEF1234567890xyz')).toBe('/tokens/:id');
    expect(routeOf('/api/v2/checkout')).toBe('/api/v2/checkout');
  });

  it('reports fetch calls with method, route, status, duration and failure reason, never the telemetry endpoint', async () => {
    const { api, calls } = recorder();
    const g: any = {
      fetch: vi.fn(async (url: string) => {
        if (url.includes('fail')) throw new TypeError('Failed to fetch');
        return { status: url.includes('missing') ? 404 : 200 };
      }),
    };
    const stop = httpPlugin({ global: g }).setup(api);
    await g.fetch('https://api.shop.test/orders/77?x=1', { method: 'post' });
    await g.fetch('https://api.shop.test/missing');
    await expect(g.fetch('https://api.shop.test/fail')).rejects.toThrow('Failed');
    await g.fetch('https://rt.shop.test/api/telemetry/batch', { method: 'POST' });
    expect(calls.map((c) => c[1])).toEqual(['POST /orders/:id', 'GET /missing', 'GET /fail']);
    expect(calls[0]![2]).toMatchObject({ method: 'POST', route: '/orders/:id', host: 'api.shop.test', status: 200 });
    expect(typeof calls[0]![2].duration).toBe('number');
    expect(calls[2]![2]).toMatchObject({ status: 0, error: 'Failed to fetch' });
    stop();
    expect(vi.isMockFunction(g.fetch)).toBe(true);
  });

  it('reports XMLHttpRequest calls on loadend, and unwraps', () => {
    const { api, calls } = recorder();
    class FakeXhr extends EventTarget {
      status = 0;
      open(_m: string, _u: string) {}
      send() {
        this.status = 503;
        this.dispatchEvent(new Event('load'));
        this.dispatchEvent(new Event('loadend'));
      }
    }
    const open = FakeXhr.prototype.open;
    const g: any = { XMLHttpRequest: FakeXhr };
    const stop = httpPlugin({ global: g }).setup(api);
    const x = new FakeXhr() as any;
    x.open('get', '/api/items/123?q=1');
    x.send();
    expect(calls).toEqual([['trackApi', 'GET /api/items/:id', expect.objectContaining({ method: 'GET', status: 503, route: '/api/items/:id' })]]);
    stop();
    expect(FakeXhr.prototype.open).toBe(open);
  });
});

describe('realtime plugin', () => {
  function fakeClient() {
    const handlers: Record<string, Set<(i: any) => void>> = { connected: new Set(), disconnected: new Set(), gap: new Set() };
    const c = {
      state: 'connected',
      on: (e: string, fn: (i: any) => void) => (handlers[e]!.add(fn), () => handlers[e]!.delete(fn)),
      request: vi.fn(() => new Promise((r) => setTimeout(r, 30))),
      emit: (e: string, i: unknown) => handlers[e]!.forEach((f) => f(i)),
      count: () => Object.values(handlers).reduce((n, s) => n + s.size, 0),
    };
    return c;
  }

  it('reports disconnects, reconnects with downtime, gaps and request round trips', async () => {
    vi.useFakeTimers();
    const { api, calls } = recorder();
    const c = fakeClient();
    const stop = realtimePlugin(c as unknown as ObservableClient, { pingMethod: 'ping', pingInterval: 1000 }).setup(api);
    c.emit('disconnected', { code: 1006, reason: 'network', willReconnect: true });
    vi.advanceTimersByTime(200);
    c.emit('disconnected', { code: 1006, reason: 'network', willReconnect: true });
    vi.advanceTimersByTime(300);
    c.emit('connected', { reconnected: true });
    c.emit('gap', { topic: 'orders', reason: 'not_recovered' });
    await vi.advanceTimersByTimeAsync(1030);
    expect(calls).toEqual([
      ['trackEvent', 'realtime.disconnected', { code: 1006, reason: 'network', willReconnect: true }],
      ['trackEvent', 'realtime.disconnected', { code: 1006, reason: 'network', willReconnect: true }],
      ['trackEvent', 'realtime.reconnected', { downtime: 500, reconnects: 1 }],
      ['trackEvent', 'realtime.gap', { topic: 'orders', reason: 'not_recovered' }],
      ['trackPerf', 'realtime.rtt', 30],
    ]);
    expect(c.request).toHaveBeenCalledWith('ping', undefined, { timeout: 10_000 });
    stop();
    expect(c.count()).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(c.request).toHaveBeenCalledTimes(1);
  });

  it('accepts the real client type', () => {
    const client = createClient({ url: 'ws://127.0.0.1:1/ws', app: 'a' } as any);
    expect(realtimePlugin(client).name).toBe('realtime');
    client.close();
  });
});
