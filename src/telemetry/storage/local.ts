import type { Storage } from '../../storage/types';

/**
 * `Storage` over Web Storage (`localStorage`, or the `area` given). A write that fails (quota,
 * private mode) rejects, and the tracker ignores it: telemetry then simply is not persisted.
 * `undefined` where there is none or access is denied (sandboxed iframe, blocked cookies).
 */
export function webStorage(area?: globalThis.Storage): Storage | undefined {
  let s = area;
  try {
    s ??= localStorage;
  } catch {
    return undefined;
  }
  const store = s;
  return store && {
    get: async (k) => store.getItem(k) ?? undefined,
    set: async (k, v) => store.setItem(k, v),
    remove: async (k) => store.removeItem(k),
  };
}
