import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type Publication } from 'sdk-realtime';
import { multiplexTransport } from '../../src/channel/index';
import { cleanup, notify, onCleanup, signToken, sleep, startServer, waitFor, waitForState } from '../support/harness';

afterEach(cleanup);

describe('multiplexTransport', () => {
  it('serves several clients over one server connection: own topics, shared personal stream, own replies', async () => {
    const server = await startServer({ canPublish: () => true } as never);
    const mux = multiplexTransport();
    const token = await signToken('u1');
    const make = () => {
      const c = createClient({ url: server.url, app: 'shop', token, transport: mux, reconnect: { floor: 50, ceiling: 200 } });
      onCleanup(() => c.close());
      return c;
    };
    const a = make();
    const b = make();
    const gotA: Publication[] = [];
    const gotB: Publication[] = [];
    a.on('message', (m) => gotA.push(m));
    b.on('message', (m) => gotB.push(m));
    a.subscribe('room:a', () => {});
    b.subscribe('room:b', () => {});
    const shared = [a.subscribe('room:both', () => {}), b.subscribe('room:both', () => {})];
    a.connect();
    b.connect();
    await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);
    expect(server.stats().connections).toBe(1);
    await waitFor(() => server.stats().subscriptions === 3, 'three topics subscribed once each');

    await notify(server, { appId: 'shop', eventTopics: ['room:a'], data: 'a' });
    await notify(server, { appId: 'shop', eventTopics: ['room:b'], data: 'b' });
    await notify(server, { appId: 'shop', eventTopics: ['room:both'], data: 'both' });
    await notify(server, { appId: 'shop', users: ['u1'], data: 'personal' });
    await waitFor(() => gotA.length === 3 && gotB.length === 3, 'deliveries');
    expect(gotA.map((m) => m.data)).toEqual(['a', 'both', 'personal']);
    expect(gotB.map((m) => m.data)).toEqual(['b', 'both', 'personal']);

    // Replies are routed to the client that asked, whatever the ids.
    const [ra, rb] = await Promise.all([a.publish('room:a', 1), b.publish('room:b', 2)]);
    expect(ra.offset).toBe(2);
    expect(rb.offset).toBe(2);

    // The server keeps a topic until its last holder leaves.
    shared[0]!.unsubscribe();
    await sleep(100);
    expect(server.stats().subscriptions).toBe(3);
    shared[1]!.unsubscribe();
    await waitFor(() => server.stats().subscriptions === 2, 'unsubscribed after the last holder');

    a.close();
    await sleep(100);
    expect(server.stats().connections).toBe(1);
    await waitFor(() => server.stats().subscriptions === 1, "a's topic released");
    b.close();
    await waitFor(() => server.stats().connections === 0, 'connection closed with its last client');
  });

  it('when the shared connection drops, every client reconnects and recovers what it missed', async () => {
    const server = await startServer();
    const mux = multiplexTransport();
    const token = await signToken('u1');
    const clients = [0, 1].map(() => {
      const c = createClient({ url: server.url, app: 'shop', token, transport: mux, reconnect: { floor: 50, ceiling: 200 } });
      onCleanup(() => c.close());
      return c;
    });
    const got: unknown[][] = [[], []];
    clients.forEach((c, i) => c.subscribe('t', (m) => got[i]!.push(m.data)));
    for (const c of clients) c.connect();
    await Promise.all(clients.map((c) => waitForState(c, 'connected')));
    await waitFor(() => server.stats().subscriptions === 1, 'subscribed');
    await notify(server, { appId: 'shop', eventTopics: ['t'], data: 1 });
    await waitFor(() => got.every((g) => g.length === 1), 'first');

    const port = server.port;
    await server.close(); // history is in memory: start a fresh server, then publish into it before clients are back
    const again = await startServer({ port });
    await Promise.all(clients.map((c) => waitForState(c, 'connected', 3000)));
    expect(again.stats().connections).toBe(1);
    await notify(again, { appId: 'shop', eventTopics: ['t'], data: 2 });
    await waitFor(() => got.every((g) => g.length === 2), 'after reconnect');
    expect(got).toEqual([
      [1, 2],
      [1, 2],
    ]);
  });

  it('recovers a later client\'s personal stream from its own position', async () => {
    const server = await startServer();
    const mux = multiplexTransport();
    const token = await signToken('u1');
    const a = createClient({ url: server.url, app: 'shop', token, transport: mux });
    onCleanup(() => a.close());
    a.connect();
    await waitForState(a, 'connected');
    await notify(server, { appId: 'shop', users: ['u1'], data: 'before b' });
    const got: unknown[] = [];
    const b = createClient({ url: server.url, app: 'shop', token, transport: mux });
    onCleanup(() => b.close());
    b.on('message', (m) => got.push(m.data));
    b.connect();
    await waitForState(b, 'connected');
    await notify(server, { appId: 'shop', users: ['u1'], data: 'after b' });
    await waitFor(() => got.includes('after b'), 'live personal message');
    expect(server.stats().connections).toBe(1);
  });

  it('refuses a client of another app on a shared connection', async () => {
    const server = await startServer();
    const mux = multiplexTransport();
    const a = createClient({ url: server.url, app: 'shop', token: await signToken('u1'), transport: mux });
    onCleanup(() => a.close());
    a.connect();
    await waitForState(a, 'connected');
    const b = createClient({ url: server.url, app: 'other', token: await signToken('u1'), transport: mux });
    onCleanup(() => b.close());
    b.on('error', () => {});
    b.connect();
    await waitForState(b, 'closed');
    expect(b.getSnapshot().reason).toMatch(/one app and device/);
    expect(a.state).toBe('connected');
  });
});
