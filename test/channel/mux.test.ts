import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type Publication } from 'sdk-realtime';
import { multiplexTransport } from '../../src/channel/index';
import { tokenSubject } from '../../src/channel/mux';
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

  it('gives a client of another app a connection of its own', async () => {
    const server = await startServer({ tokens: { anyApp: true } } as never);
    const mux = multiplexTransport();
    const a = createClient({ url: server.url, app: 'shop', token: await signToken('u1'), transport: mux });
    onCleanup(() => a.close());
    a.connect();
    await waitForState(a, 'connected');
    const b = createClient({ url: server.url, app: 'other', token: await signToken('u1'), transport: mux });
    onCleanup(() => b.close());
    b.connect();
    await waitForState(b, 'connected');
    expect(server.stats().connections).toBe(2);
    expect(a.state).toBe('connected');
  });
});

describe('multiplexTransport: sharing only within one identity', () => {
  it("a client signed in as another user gets its own connection, never the first user's identity or messages", async () => {
    const server = await startServer();
    const mux = multiplexTransport();
    const make = (token: string | (() => Promise<string>)) => {
      const c = createClient({ url: server.url, app: 'shop', token, transport: mux });
      onCleanup(() => c.close());
      return c;
    };
    const alice = make(await signToken('alice'));
    const bob = make(() => signToken('bob')); // a token function: the multiplexer reads the token it returns
    const who: Record<string, string | null> = {};
    alice.on('connected', (i) => (who.alice = i.user));
    bob.on('connected', (i) => (who.bob = i.user));
    const got: Record<string, unknown[]> = { alice: [], bob: [] };
    alice.on('message', (m) => got.alice!.push(m.data));
    bob.on('message', (m) => got.bob!.push(m.data));
    alice.connect();
    await waitForState(alice, 'connected');
    bob.connect();
    await waitForState(bob, 'connected');
    expect(who).toEqual({ alice: 'alice', bob: 'bob' });
    expect(server.stats().connections).toBe(2);

    await notify(server, { appId: 'shop', users: ['alice'], data: 'for alice' });
    await notify(server, { appId: 'shop', users: ['bob'], data: 'for bob' });
    await waitFor(() => got.alice!.length === 1 && got.bob!.length === 1, 'personal messages');
    await sleep(50);
    expect(got).toEqual({ alice: ['for alice'], bob: ['for bob'] });

    // A second tab of alice (another token for the same subject) shares alice's connection.
    const alice2 = make(await signToken('alice', { expiresInSeconds: 7200 }));
    alice2.on('connected', (i) => (who.alice2 = i.user));
    alice2.connect();
    await waitForState(alice2, 'connected');
    expect(who.alice2).toBe('alice');
    expect(server.stats().connections).toBe(2);

    bob.close();
    await waitFor(() => server.stats().connections === 1, "bob's connection closed with its last client");
  });

  it('an anonymous client does not share a signed-in connection', async () => {
    const server = await startServer({ allowAnonymous: true } as never);
    const mux = multiplexTransport();
    const signed = createClient({ url: server.url, app: 'shop', token: await signToken('u1'), transport: mux });
    onCleanup(() => signed.close());
    signed.connect();
    await waitForState(signed, 'connected');
    const anon = createClient({ url: server.url, app: 'shop', transport: mux });
    onCleanup(() => anon.close());
    let user: string | null | undefined;
    anon.on('connected', (i) => (user = i.user));
    anon.on('error', () => {});
    anon.connect();
    await waitFor(() => user !== undefined || anon.state === 'closed' || server.stats().connections === 2, 'anonymous connect');
    expect(user ?? null).toBe(null);
    expect(server.stats().connections).toBe(2);
  });
});

describe('tokenSubject', () => {
  const jwt = (payload: unknown) =>
    `h.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;

  it('reads the unverified sub of a JWT payload (base64url, no padding, any characters)', () => {
    expect(tokenSubject(jwt({ sub: 'u1' }))).toBe('sub:u1');
    expect(tokenSubject(jwt({ sub: 'ü?>~', x: '>>>???' }))).toBe(tokenSubject(jwt({ sub: 'ü?>~', y: 1 })));
    expect(tokenSubject(jwt({ sub: 'a' }))).not.toBe(tokenSubject(jwt({ sub: 'b' })));
  });

  it('shares an unreadable token only with itself, and no token is anonymous', () => {
    expect(tokenSubject('opaque')).toBe('token:opaque');
    expect(tokenSubject(jwt({ sub: 5 }))).toBe(`token:${jwt({ sub: 5 })}`);
    expect(tokenSubject('a.!!!.c')).toBe('token:a.!!!.c');
    expect(tokenSubject(undefined)).toBe(null);
  });
});
