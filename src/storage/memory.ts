import type { Storage } from './types';

/** Storage kept in memory: lost on reload. The default when no storage is given. */
export function memoryStorage(): Storage {
  const map = new Map<string, string>();
  return {
    get: async (key) => map.get(key),
    set: async (key, value) => {
      map.set(key, value);
    },
    remove: async (key) => {
      map.delete(key);
    },
  };
}
