import { afterEach, describe, expect, it } from 'vitest';
import type { Publication } from '../../src/protocol/frames';
import { memoryStorage } from '../../src/storage/memory';
import { cleanup, client, notify, signToken, sleep, startServer, waitFor, waitForState } from '../support/harness';

afterEach(cleanup);

describe('stream positions persisted through storage (reload / app restart)', () => {
  it('a new session on the same storage gets exactly what was published while the app was gone', async () => {
    const server = await startServer();
    const storage = memoryStorage(); // stands for localStorage / IndexedDB / wx storage across a reload
    const token = await signToken('u1');

    // Session 1: receives 1..3 on the topic and one personal message, then the page goes away.
    const first = client({ url: server.url, app: 'shop', token, storage });
    const firstGot: Publication[] = [];
    first.on('message', (m) => firstGot.push(m));
    first.subscribe('orders', () => {});
    first.connect();
    await waitForState(first, 'connected');
    await waitFor(() => server.stats().subscriptions === 1, 'subscription');
    for (let n = 1; n <= 3; n++) await notify(server, { appId: 'shop', eventTopics: ['orders'], data: n });
    await notify(server, { appId: 'shop', users: ['u1'], data: 'hello u1' });
    await waitFor(() => firstGot.length === 4, 'session 1 messages');
    first.close();
    await waitFor(() => server.stats().connections === 0, 'session 1 gone');

    // While nobody is connected.
    for (let n = 4; n <= 6; n++) await notify(server, { appId: 'shop', eventTopics: ['orders'], data: n });
    await notify(server, { appId: 'shop', users: ['u1'], data: 'while away' });

    // Session 2: a new client on the same storage.
    const second = client({ url: server.url, app: 'shop', token, storage });
    const topic: Publication[] = [];
    const personal: Publication[] = [];
    const recovered: boolean[] = [];
    second.on('message', (m) => m.topic === 'user:u1' && personal.push(m));
    second.subscribe('orders', (m) => topic.push(m), { onSubscribed: (s) => recovered.push(s.recovered) });
    second.connect();
    await waitFor(() => topic.length === 3 && personal.length === 1, 'missed messages recovered');
    await sleep(100);
    expect(topic.map((m) => m.data)).toEqual([4, 5, 6]);
    expect(personal.map((m) => m.data)).toEqual(['while away']);
    expect(recovered).toEqual([true]);
  });
});
