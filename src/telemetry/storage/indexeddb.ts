import { createStore, del, get, set } from 'idb-keyval';
import type { Storage } from '../../storage/types';

/** `Storage` in IndexedDB through idb-keyval (database `db`, object store `store`). For bigger queues than localStorage holds. */
export function indexedDbStorage(db = 'sdk-realtime', store = 'telemetry'): Storage {
  const s = createStore(db, store);
  return {
    get: (k) => get<string>(k, s),
    set: (k, v) => set(k, v, s),
    remove: (k) => del(k, s),
  };
}
