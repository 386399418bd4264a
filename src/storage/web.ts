import type { Storage } from './types';

/** The part of the Web Storage API used (`localStorage`, `sessionStorage`). */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Options of {@link webStorage}. */
export interface WebStorageOptions {
  /** The Web Storage area. Default: `globalThis.localStorage`, looked up at each call (so a page where it is blocked fails per call, not at import). */
  storage?: WebStorageLike;
}

/**
 * Storage over `localStorage` (shared by the tabs of an origin, kept across reloads, about 5 MB
 * per origin). A full quota (`QuotaExceededError`) or storage blocked by the browser (Safari
 * private mode, disabled site data: `SecurityError`) rejects the call with the browser's error;
 * the client reports it as an `internal` "storage failed" error and keeps the publishes in memory.
 */
export function webStorage(options: WebStorageOptions = {}): Storage {
  const area = (): WebStorageLike => {
    const s = options.storage ?? (globalThis as { localStorage?: WebStorageLike }).localStorage;
    if (!s) throw new Error('no localStorage here: pass options.storage');
    return s;
  };
  return {
    get: async (key) => area().getItem(key) ?? undefined,
    set: async (key, value) => area().setItem(key, value),
    remove: async (key) => area().removeItem(key),
  };
}
