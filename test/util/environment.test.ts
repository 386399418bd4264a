// @vitest-environment jsdom
import { describe, expect, it, vi } from 'vitest';
import { browserEnvironment, domEvent } from '../../src/util/environment';
import { browserTelemetryEnvironment } from '../../src/telemetry/environment';

const setVisibility = (state: DocumentVisibilityState) => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  document.dispatchEvent(new Event('visibilitychange'));
};

describe('browserEnvironment', () => {
  it('calls onVisible only when the page becomes visible and onHidden only when hidden', () => {
    const env = browserEnvironment();
    const visible = vi.fn();
    const hidden = vi.fn();
    const stopVisible = env.onVisible(visible);
    env.onHidden!(hidden);
    setVisibility('hidden');
    expect([visible.mock.calls.length, hidden.mock.calls.length]).toEqual([0, 1]);
    setVisibility('visible');
    expect([visible.mock.calls.length, hidden.mock.calls.length]).toEqual([1, 1]);
    stopVisible();
    setVisibility('hidden');
    setVisibility('visible');
    expect(visible).toHaveBeenCalledTimes(1);
  });

  it('reports online events until unsubscribed', () => {
    const online = vi.fn();
    const stop = browserEnvironment().onOnline(online);
    window.dispatchEvent(new Event('online'));
    stop();
    window.dispatchEvent(new Event('online'));
    expect(online).toHaveBeenCalledTimes(1);
    expect(browserEnvironment().isOnline!()).toBe(navigator.onLine);
  });

  it('adds pagehide for telemetry on the same events', () => {
    const env = browserTelemetryEnvironment();
    const left = vi.fn();
    env.onPageHide!(left);
    window.dispatchEvent(new Event('pagehide'));
    expect(left).toHaveBeenCalledTimes(1);
    expect(typeof env.onVisible).toBe('function');
  });

  it('is one object per page: every client shares one DOM listener per event', () => {
    expect(browserEnvironment()).toBe(browserEnvironment());
    const target = new EventTarget();
    const add = vi.spyOn(target, 'addEventListener');
    const remove = vi.spyOn(target, 'removeEventListener');
    const online = domEvent(target, 'online');
    const calls: string[] = [];
    const stops = [online(() => calls.push('a')), online(() => calls.push('b')), online(() => calls.push('c'))];
    expect(add).toHaveBeenCalledTimes(1);
    target.dispatchEvent(new Event('online'));
    expect(calls).toEqual(['a', 'b', 'c']);
    stops[0]!();
    stops[0]!(); // idempotent
    target.dispatchEvent(new Event('online'));
    expect(calls.slice(3)).toEqual(['b', 'c']);
    stops[1]!();
    expect(remove).not.toHaveBeenCalled();
    stops[2]!();
    expect(remove).toHaveBeenCalledTimes(1);
    target.dispatchEvent(new Event('online'));
    expect(calls).toHaveLength(5);
  });
});
