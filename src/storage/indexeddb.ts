import { createStore, del, get, set, type UseStore } from 'idb-keyval';
import type { Storage } from './types';

/** Options of {@link indexedDBStorage}. */
export interface IndexedDBStorageOptions {
  /** Database name. Default `'sdk-realtime'`. */
  dbName?: string;
  /** Object store name. Default `'kv'`. */
  storeName?: string;
}

/**
 * Storage over IndexedDB (through `idb-keyval`): asynchronous, available in workers, with a much
 * larger quota than `localStorage`. The database is opened at the first call, not at creation, so
 * creating one where IndexedDB is missing or blocked costs nothing; such a call rejects with the
 * browser's error, which the client reports as an `internal` "storage failed" error.
 */
export function indexedDBStorage(options: IndexedDBStorageOptions = {}): Storage {
  let store: UseStore | undefined;
  const db = () => (store ??= createStore(options.dbName ?? 'sdk-realtime', options.storeName ?? 'kv'));
  return {
    get: async (key) => {
      const v = await get<unknown>(key, db());
      return typeof v == 'string' ? v : undefined;
    },
    set: (key, value) => set(key, value, db()),
    remove: (key) => del(key, db()),
  };
}
