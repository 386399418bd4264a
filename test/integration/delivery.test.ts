import { afterEach, describe, expect, it } from 'vitest';
import type { Publication } from '../../src/protocol/frames';
import { cleanup, client, notify, signToken, startServer, waitFor, waitForState } from '../support/harness';

afterEach(cleanup);

describe('delivery from the real server to the real client', () => {
  it('delivers a topic message to a subscriber with topic, data, id, offset and ts', async () => {
    const server = await startServer();
    const c = client({ url: server.url, app: 'shop', token: await signToken('u1') });
    const got: Publication[] = [];
    c.subscribe('order:1', (m) => got.push(m));
    c.connect();
    await waitForState(c, 'connected');
    await waitFor(() => server.stats().subscriptions > 0, 'server-side subscription');

    const res = await notify(server, { appId: 'shop', eventTopics: ['order:1'], data: { status: 'paid' } });
    expect(res.status).toBe(200);
    await waitFor(() => got.length === 1, 'one message');
    expect(got[0]).toMatchObject({ topic: 'order:1', data: { status: 'paid' }, offset: 1 });
    expect(typeof got[0]!.id).toBe('string');
    expect(Math.abs(got[0]!.ts - Date.now())).toBeLessThan(5000);
  });

  it('targets users, devices and topics as a union and delivers once per connection', async () => {
    const server = await startServer();
    // alice has two connections: a phone (device d-phone, subscribed to the topic) and a laptop.
    const phone = client({ url: server.url, app: 'shop', token: await signToken('alice', { device: 'd-phone' }), deviceId: 'd-phone' });
    const laptop = client({ url: server.url, app: 'shop', token: await signToken('alice') });
    const bob = client({ url: server.url, app: 'shop', token: await signToken('bob') }); // topic only
    const carol = client({ url: server.url, app: 'shop', token: await signToken('carol') }); // nothing

    const seen = new Map<string, Publication[]>();
    for (const [name, c] of Object.entries({ phone, laptop, bob, carol })) {
      seen.set(name, []);
      c.on('message', (m) => seen.get(name)!.push(m));
    }
    phone.subscribe('order:9', () => {});
    bob.subscribe('order:9', () => {});
    for (const c of [phone, laptop, bob, carol]) c.connect();
    await Promise.all([phone, laptop, bob, carol].map((c) => waitForState(c, 'connected')));
    await waitFor(() => server.stats().subscriptions >= 2, 'topic subscriptions');

    const res = await notify(server, {
      appId: 'shop',
      users: ['alice'],
      devices: ['d-phone'],
      eventTopics: ['order:9'],
      data: { type: 'payment', status: 'success' },
    });
    expect(res.status).toBe(200);
    expect(res.body.delivered).toBe(3);

    await waitFor(() => seen.get('phone')!.length >= 1 && seen.get('laptop')!.length >= 1 && seen.get('bob')!.length >= 1, 'deliveries');
    await new Promise((r) => setTimeout(r, 150)); // room for a duplicate to show up
    expect(seen.get('phone')).toHaveLength(1); // matched user, device and topic: once
    expect(seen.get('laptop')).toHaveLength(1);
    expect(seen.get('laptop')![0]!.topic).toBe('user:alice');
    expect(seen.get('bob')).toHaveLength(1);
    expect(seen.get('bob')![0]!.topic).toBe('order:9');
    expect(seen.get('carol')).toHaveLength(0);
    const ids = new Set([...seen.values()].flat().map((m) => m.id));
    expect(ids.size).toBe(1); // one message, one server id everywhere
  });

  it('isolates apps: the same user id and topic in another app see nothing', async () => {
    const server = await startServer();
    const inShop = client({ url: server.url, app: 'shop', token: await signToken('u1') });
    const inForum = client({ url: server.url, app: 'forum', token: await signToken('u1') });
    const shopMsgs: Publication[] = [];
    const forumMsgs: Publication[] = [];
    inShop.on('message', (m) => shopMsgs.push(m));
    inForum.on('message', (m) => forumMsgs.push(m));
    inShop.subscribe('news', () => {});
    inForum.subscribe('news', () => {});
    inShop.connect();
    inForum.connect();
    await Promise.all([waitForState(inShop, 'connected'), waitForState(inForum, 'connected')]);
    await waitFor(() => server.stats().subscriptions >= 2, 'subscriptions');

    await notify(server, { appId: 'shop', users: ['u1'], eventTopics: ['news'], data: 'shop only' });
    await waitFor(() => shopMsgs.length === 1, 'shop delivery');
    await notify(server, { appId: 'forum', eventTopics: ['news'], data: 'forum only' });
    await waitFor(() => forumMsgs.length === 1, 'forum delivery');
    await new Promise((r) => setTimeout(r, 100));
    expect(shopMsgs.map((m) => m.data)).toEqual(['shop only']);
    expect(forumMsgs.map((m) => m.data)).toEqual(['forum only']);
  });

  it("refuses another user's private topic with forbidden and keeps the connection", async () => {
    const server = await startServer();
    const c = client({ url: server.url, app: 'shop', token: await signToken('mallory') });
    const errors: Array<{ code: string }> = [];
    c.on('error', (e) => errors.push(e));
    let subError: { code: string } | undefined;
    c.subscribe('user:alice', () => {}, { onError: (e: { code: string }) => (subError = e) });
    const own: Publication[] = [];
    c.subscribe('user:mallory', (m) => own.push(m));
    c.connect();
    await waitFor(() => subError !== undefined, 'subscription refusal');
    expect(subError!.code).toBe('forbidden');
    expect(c.state).toBe('connected');

    await notify(server, { appId: 'shop', eventTopics: ['user:mallory', 'user:alice'], data: 1 });
    await waitFor(() => own.length === 1, 'own private topic still works');
  });

  it('answers request/response calls through a server method and rejects unknown methods', async () => {
    const server = await startServer({ methods: { add: (p: any) => p.a + p.b } } as never);
    const c = client({ url: server.url, app: 'shop', token: await signToken('u1') });
    c.connect();
    await expect(c.request('add', { a: 2, b: 3 })).resolves.toBe(5);
    await expect(c.request('nope', {})).rejects.toMatchObject({ code: 'method_not_found' });
  });

  it('pushes online counts of a topic as subscribers come and go', async () => {
    const server = await startServer({ presenceInterval: 50 } as never);
    const watcher = client({ url: server.url, app: 'live', token: await signToken('host') });
    const counts: Array<{ users: number; connections: number }> = [];
    watcher.onlineCount('room:1', (c) => counts.push(c));
    watcher.connect();
    await waitFor(() => counts.length > 0, 'initial count');
    expect(counts.at(-1)).toEqual({ users: 0, connections: 0 });

    const a1 = client({ url: server.url, app: 'live', token: await signToken('a') });
    const a2 = client({ url: server.url, app: 'live', token: await signToken('a') });
    const b = client({ url: server.url, app: 'live', token: await signToken('b') });
    for (const c of [a1, a2, b]) {
      c.subscribe('room:1', () => {});
      c.connect();
    }
    await waitFor(() => counts.at(-1)?.connections === 3, '3 connections online');
    expect(counts.at(-1)).toEqual({ users: 2, connections: 3 });
    b.close();
    await waitFor(() => counts.at(-1)?.connections === 2, 'count after one leaves');
    expect(counts.at(-1)).toEqual({ users: 1, connections: 2 });
  });
});
