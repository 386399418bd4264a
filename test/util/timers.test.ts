import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemTimers } from '../../src/util/timers';

afterEach(() => {
  vi.useRealTimers();
});

describe('systemTimers', () => {
  it('follows vi.useFakeTimers installed after import (globals looked up at call time)', () => {
    vi.useFakeTimers({ now: 1000 });
    const fn = vi.fn();
    systemTimers.setTimeout(fn, 50);
    vi.advanceTimersByTime(49);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledOnce();
    expect(systemTimers.now()).toBe(1050);
    const other = vi.fn();
    systemTimers.clearTimeout(systemTimers.setTimeout(other, 10));
    vi.advanceTimersByTime(20);
    expect(other).not.toHaveBeenCalled();
  });
});
