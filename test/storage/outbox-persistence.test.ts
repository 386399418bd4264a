import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, memoryStorage, type Publication, type Storage } from 'sdk-realtime';
import { indexedDBStorage } from '../../src/storage/indexeddb';
import { miniProgramStorage } from '../../src/storage/miniprogram';
import { webStorage } from '../../src/storage/web';
import { FakeWx } from '../wechat/fake-wx';
import { cleanup, client, signToken, sleep, startServer, waitFor, waitForState } from '../support/harness';

afterEach(cleanup);

/** A localStorage stand-in that outlives page "reloads" (the test keeps the Map). */
const mapArea = () => {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
};

/** Poll an async predicate (storage reads are async) for up to 2 s. */
const until = async (predicate: () => Promise<boolean>) => {
  for (let i = 0; i < 100 && !(await predicate()); i++) await sleep(20);
};

const adapters: Array<[string, () => Storage]> = [
  ['memory (same instance)', () => memoryStorage()],
  ['localStorage', () => webStorage({ storage: mapArea() })],
  ['IndexedDB', () => indexedDBStorage({ dbName: `outbox-${Math.random()}` })],
  ['mini-program', () => miniProgramStorage({ api: new FakeWx() })],
];

describe.each(adapters)('outbox persisted through %s storage', (_name, make) => {
  it('publishes queued offline by a closed client are delivered exactly once by the next client with the same storage', async () => {
    const server = await startServer({ canPublish: () => true } as never);
    const reader = client({ url: server.url, app: 'chat', token: await signToken('reader') });
    const got: Publication[] = [];
    reader.subscribe('room', (m) => got.push(m));
    reader.connect();
    await waitForState(reader, 'connected');
    await waitFor(() => server.stats().subscriptions === 1, 'reader subscribed');

    const storage = make();
    const token = await signToken('writer');
    // Session 1: the server is unreachable; two publishes wait in the outbox, then the page is closed.
    const offline = createClient({ url: 'ws://127.0.0.1:1/ws', app: 'chat', token, storage, reconnect: { floor: 1000 } });
    offline.on('error', () => {});
    offline.connect();
    const pending = [offline.publish('room', { n: 1 }), offline.publish('room', { n: 2 })];
    for (const p of pending) p.catch(() => {});
    await until(async () => (await storage.get('sdk-realtime:chat:outbox')) !== undefined);
    expect(JSON.parse((await storage.get('sdk-realtime:chat:outbox'))!)).toHaveLength(2);
    offline.close();
    await expect(pending[0]).rejects.toMatchObject({ code: 'closed' });

    // Session 2: same storage, the server is reachable.
    const second = client({ url: server.url, app: 'chat', token, storage });
    second.connect();
    await waitFor(() => got.length === 2, 'queued publishes delivered');
    // The outbox entry is cleared once acknowledged.
    await until(async () => (await storage.get('sdk-realtime:chat:outbox')) === undefined);
    expect(await storage.get('sdk-realtime:chat:outbox')).toBeUndefined();
    second.close();

    // Session 3: nothing left to resend.
    const third = client({ url: server.url, app: 'chat', token, storage });
    third.connect();
    await waitForState(third, 'connected');
    await sleep(200);
    expect(got.map((m) => m.data)).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
