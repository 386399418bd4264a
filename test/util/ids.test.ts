import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomId } from '../../src/util/ids';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('randomId', () => {
  it('returns 32 hex characters, different each time', () => {
    const ids = new Set(Array.from({ length: 1000 }, randomId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('uses crypto.getRandomValues when present', () => {
    const getRandomValues = vi.fn((a: Uint8Array) => a.fill(0xab));
    vi.stubGlobal('crypto', { getRandomValues });
    expect(randomId()).toBe('ab'.repeat(16));
    expect(getRandomValues).toHaveBeenCalledOnce();
  });

  it('falls back to Math.random without crypto', () => {
    vi.stubGlobal('crypto', undefined);
    expect(randomId()).toMatch(/^[0-9a-f]{32}$/);
  });
});
