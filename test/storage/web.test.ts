// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { webStorage } from '../../src/storage/web';

describe('webStorage', () => {
  it('reads, writes and removes through window.localStorage by default', async () => {
    localStorage.clear();
    const s = webStorage();
    expect(await s.get('k')).toBeUndefined();
    await s.set('k', '{"a":1}');
    expect(localStorage.getItem('k')).toBe('{"a":1}');
    expect(await s.get('k')).toBe('{"a":1}');
    await s.remove('k');
    expect(await s.get('k')).toBeUndefined();
  });

  it('rejects (never throws synchronously) when the quota is exceeded or storage is blocked', async () => {
    const quota = webStorage({
      storage: {
        getItem: () => null,
        setItem() {
          throw new DOMException('full', 'QuotaExceededError');
        },
        removeItem() {},
      },
    });
    await expect(quota.set('k', 'v')).rejects.toMatchObject({ name: 'QuotaExceededError' });
    const blocked = webStorage({
      storage: {
        getItem() {
          throw new DOMException('blocked', 'SecurityError');
        },
        setItem() {},
        removeItem() {},
      },
    });
    await expect(blocked.get('k')).rejects.toMatchObject({ name: 'SecurityError' });
  });

  it('rejects when there is no localStorage at all', async () => {
    const s = webStorage();
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'localStorage');
    Object.defineProperty(globalThis, 'localStorage', { value: undefined, configurable: true });
    try {
      await expect(s.get('k')).rejects.toThrow('no localStorage');
    } finally {
      Object.defineProperty(globalThis, 'localStorage', saved!);
    }
  });
});
