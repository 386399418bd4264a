import type { Storage } from '../../storage/types';

/**
 * `Storage` over a Web Storage object (default `localStorage`). Writes that fail (quota, private
 * mode) are ignored: telemetry then simply is not persisted. `undefined` where there is none.
 */
export function webStorage(area?: globalThis.Storage): Storage | undefined {
  let s = area;
  try {
    s ??= typeof localStorage != 'undefined' ? localStorage : undefined;
  } catch {
    // access denied (sandboxed iframe, cookies blocked)
  }
  if (!s) return undefined;
  const store = s;
  const safe = (fn: () => void) => {
    try {
      fn();
    } catch {
      // quota exceeded or storage gone
    }
  };
  return {
    get: async (k) => store.getItem(k) ?? undefined,
    set: async (k, v) => safe(() => store.setItem(k, v)),
    remove: async (k) => safe(() => store.removeItem(k)),
  };
}
