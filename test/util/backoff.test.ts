import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/util/backoff';

const bounds = { floor: 500, ceiling: 30_000 };

describe('backoffDelay', () => {
  it('stays within [floor, floor·2^attempt] for each attempt', () => {
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(backoffDelay(attempt, bounds, () => 0)).toBe(500);
      expect(backoffDelay(attempt, bounds, () => 0.999999)).toBeCloseTo(500 * 2 ** attempt, -1);
    }
  });

  it('is uniformly jittered between the bounds', () => {
    expect(backoffDelay(2, bounds, () => 0.5)).toBe(500 + 0.5 * 1500);
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(3, bounds)));
    expect(seen.size).toBeGreaterThan(10);
    for (const d of seen) {
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });

  it('keeps full jitter at the ceiling once floor·2^attempt passes it', () => {
    expect(backoffDelay(10, bounds, () => 0.999999)).toBeLessThanOrEqual(30_000);
    expect(backoffDelay(10, bounds, () => 0)).toBe(500);
    expect(backoffDelay(10, bounds, () => 0.5)).toBe(15_250);
  });

  it('stays finite for huge attempt counts and a zero floor', () => {
    expect(backoffDelay(10_000, bounds, () => 1)).toBe(30_000);
    expect(backoffDelay(10_000, { floor: 0, ceiling: 1000 }, () => 1)).toBe(0);
    expect(backoffDelay(0, bounds, () => 1)).toBe(500);
  });
});
