import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { indexedDBStorage } from '../../src/storage/indexeddb';

describe('indexedDBStorage', () => {
  it('reads, writes and removes strings in its own database and store', async () => {
    const s = indexedDBStorage({ dbName: 'test-db', storeName: 'kv' });
    expect(await s.get('k')).toBeUndefined();
    await s.set('k', 'v1');
    await s.set('k', 'v2');
    expect(await s.get('k')).toBe('v2');
    // Another instance over the same database sees it (a reload).
    expect(await indexedDBStorage({ dbName: 'test-db', storeName: 'kv' }).get('k')).toBe('v2');
    expect(await indexedDBStorage({ dbName: 'other-db' }).get('k')).toBeUndefined();
    await s.remove('k');
    expect(await s.get('k')).toBeUndefined();
  });

  it('opens nothing until first used', async () => {
    const opened: string[] = [];
    const open = indexedDB.open.bind(indexedDB);
    indexedDB.open = ((name: string, v?: number) => (opened.push(name), open(name, v))) as typeof indexedDB.open;
    try {
      const s = indexedDBStorage({ dbName: 'lazy-db' });
      expect(opened).toEqual([]);
      await s.get('x');
      expect(opened).toEqual(['lazy-db']);
    } finally {
      indexedDB.open = open;
    }
  });
});
