import type { Storage } from '../../storage/types';

/**
 * `Storage` over Web Storage (`localStorage`, or the `area` given). Writes that fail (quota, private
 * mode) are ignored: telemetry then simply is not persisted. `undefined` where there is none or
 * access is denied (sandboxed iframe, blocked cookies).
 */
export function webStorage(area?: globalThis.Storage): Storage | undefined {
  let s = area;
  try {
    s ??= localStorage;
  } catch {
    return undefined;
  }
  const store = s;
  const safe = (fn: () => void) => {
    try {
      fn();
    } catch {
      // quota exceeded or storage gone
    }
  };
  return store && {
    get: async (k) => store.getItem(k) ?? undefined,
    set: async (k, v) => safe(() => store.setItem(k, v)),
    remove: async (k) => safe(() => store.removeItem(k)),
  };
}
