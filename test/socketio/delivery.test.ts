import { afterEach, describe, expect, it } from 'vitest';
import type { Publication } from '../../src/protocol/frames';
import { cleanup, client, notify, signToken, waitForState } from '../support/harness';
import { ask, connected, inbox, isMarker, legacy, startBridge, until } from './helpers';

afterEach(cleanup);

/** Subscribe and check every topic was accepted. */
async function subscribed(s: Parameters<typeof ask>[0], topics: string[]): Promise<void> {
  const answer = await ask(s, 'subscribe', topics);
  expect(answer.ok).toBe(true);
  for (const t of topics) expect(answer.results[t]).toEqual({ ok: true });
}

describe('socket.io bridge: delivery of POST /notify', () => {
  it('payment flow: user, device and topic targets all matching one socket deliver once, as dataUpdate and as the topic event', async () => {
    const server = await startBridge();
    const phone = legacy(server, 'ecommerce-app', 'user-567', 'mobile-ios-001');
    const other = legacy(server, 'ecommerce-app', 'user-999', 'web-001');
    await Promise.all([connected(phone), connected(other)]);
    const updates = inbox(phone);
    const onTopic = inbox(phone, 'order:12345:status');
    const otherUpdates = inbox(other);
    await subscribed(phone, ['order:12345:status', 'payment:processing', 'marker']);
    await subscribed(other, ['marker']);

    const data = { type: 'payment', status: 'success', orderId: '12345' };
    const res = await notify(server, { appId: 'ecommerce-app', users: ['user-567'], devices: ['mobile-ios-001'], eventTopics: ['order:12345:status'], data });
    expect(res.status).toBe(200);
    expect(res.body.delivered).toBe(1);
    await notify(server, { appId: 'ecommerce-app', eventTopics: ['marker'], data: { marker: 'end' } });
    await until(() => updates.some(isMarker('end')) && otherUpdates.some(isMarker('end')), 'the marker on both sockets');
    expect(updates).toEqual([data, { marker: 'end' }]);
    expect(onTopic).toEqual([data]);
    expect(otherUpdates).toEqual([{ marker: 'end' }]);
  });

  it('with topicEvents: false, messages arrive as dataUpdate only', async () => {
    const server = await startBridge({ socketIo: { trustClientHeaders: true, topicEvents: false } });
    const s = legacy(server, 'shop', 'u');
    await connected(s);
    const updates = inbox(s);
    const onTopic = inbox(s, 'news');
    await subscribed(s, ['news']);
    await notify(server, { appId: 'shop', eventTopics: ['news'], data: { n: 1 } });
    await notify(server, { appId: 'shop', eventTopics: ['news'], data: { marker: 'end' } });
    await until(() => updates.some(isMarker('end')), 'marker');
    expect(updates).toEqual([{ n: 1 }, { marker: 'end' }]);
    expect(onTopic).toEqual([]);
  });

  it('unsubscribe stops a topic; an array or a single topic is accepted', async () => {
    const server = await startBridge();
    const s = legacy(server, 'shop', 'u1');
    await connected(s);
    const got = inbox(s);
    expect(await ask(s, 'subscribe', 'payment:processing')).toEqual({ ok: true, results: { 'payment:processing': { ok: true } } });
    await subscribed(s, ['marker']);
    expect(await ask(s, 'unsubscribe', ['payment:processing'])).toEqual({ ok: true, results: { 'payment:processing': { ok: true } } });
    await notify(server, { appId: 'shop', eventTopics: ['payment:processing'], data: { n: 1 } });
    await notify(server, { appId: 'shop', eventTopics: ['marker'], data: { marker: 'end' } });
    await until(() => got.some(isMarker('end')), 'marker');
    expect(got).toEqual([{ marker: 'end' }]);
  });

  it('multi-device sync: a user target reaches every device of the user, a device target only that device', async () => {
    const server = await startBridge();
    const ios = legacy(server, 'shop', 'alice', 'ios-1');
    const web = legacy(server, 'shop', 'alice', 'web-1');
    const bob = legacy(server, 'shop', 'bob', 'web-2');
    await Promise.all([ios, web, bob].map((s) => connected(s)));
    const [gotIos, gotWeb, gotBob] = [ios, web, bob].map((s) => inbox(s));
    await until(() => server.stats().connections === 3, 'three sockets');

    await notify(server, { appId: 'shop', users: ['alice'], data: { cart: 'synced' } });
    await notify(server, { appId: 'shop', devices: ['ios-1'], data: { only: 'ios' } });
    await notify(server, { appId: 'shop', users: ['alice', 'bob'], data: { marker: 'end' } });
    await until(() => [gotIos, gotWeb, gotBob].every((g) => g!.some(isMarker('end'))), 'marker everywhere');
    expect(gotIos).toEqual([{ cart: 'synced' }, { only: 'ios' }, { marker: 'end' }]);
    expect(gotWeb).toEqual([{ cart: 'synced' }, { marker: 'end' }]);
    expect(gotBob).toEqual([{ marker: 'end' }]);
  });

  it('apps are isolated: the same user id and topic in two apps never see each other', async () => {
    const server = await startBridge();
    const a = legacy(server, 'app-a', 'same-user', 'same-device');
    const b = legacy(server, 'app-b', 'same-user', 'same-device');
    await Promise.all([connected(a), connected(b)]);
    const [gotA, gotB] = [inbox(a), inbox(b)];
    await subscribed(a, ['news']);
    await subscribed(b, ['news']);
    await notify(server, { appId: 'app-a', users: ['same-user'], devices: ['same-device'], eventTopics: ['news'], data: { for: 'a' } });
    await notify(server, { appId: 'app-b', eventTopics: ['news'], data: { marker: 'b' } });
    await notify(server, { appId: 'app-a', eventTopics: ['news'], data: { marker: 'a' } });
    await until(() => gotA.some(isMarker('a')) && gotB.some(isMarker('b')), 'markers');
    expect(gotA).toEqual([{ for: 'a' }, { marker: 'a' }]);
    expect(gotB).toEqual([{ marker: 'b' }]);
  });

  it('group chat reaches every member; private messages reach only their user, whose stream no one else may subscribe to', async () => {
    const server = await startBridge();
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((u) => legacy(server, 'chat', u));
    await Promise.all([alice, bob, carol].map((s) => connected(s!)));
    const [gotAlice, gotBob, gotCarol] = [alice, bob, carol].map((s) => inbox(s!));
    for (const s of [alice, bob, carol]) await subscribed(s!, ['chat:group-1']);

    // carol tries to listen in on bob's private stream, and to her own (already hers: accepted).
    const answer = await ask(carol!, 'subscribe', ['user:bob', 'user:carol']);
    expect(answer.results['user:bob']).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(answer.results['user:carol']).toEqual({ ok: true });

    await notify(server, { appId: 'chat', eventTopics: ['chat:group-1'], data: { from: 'alice', text: 'hi all' } });
    await notify(server, { appId: 'chat', users: ['bob'], data: { from: 'alice', text: 'psst, bob' } });
    await notify(server, { appId: 'chat', eventTopics: ['chat:group-1'], data: { marker: 'end' } });
    await until(() => [gotAlice, gotBob, gotCarol].every((g) => g!.some(isMarker('end'))), 'marker');
    expect(gotAlice).toEqual([{ from: 'alice', text: 'hi all' }, { marker: 'end' }]);
    expect(gotBob).toEqual([{ from: 'alice', text: 'hi all' }, { from: 'alice', text: 'psst, bob' }, { marker: 'end' }]);
    expect(gotCarol).toEqual([{ from: 'alice', text: 'hi all' }, { marker: 'end' }]);
  });

  it('native and socket.io subscribers of one topic both get a /notify, and count in each other\'s online counts', async () => {
    const server = await startBridge({ presenceInterval: 20 });
    const native = client({ url: server.url, app: 'live', token: await signToken('native-user') });
    const nativeGot: Publication[] = [];
    const nativeCounts: Array<{ users: number; connections: number }> = [];
    native.subscribe('room:1', (m) => nativeGot.push(m));
    native.onlineCount('room:1', (c) => nativeCounts.push(c));
    native.connect();
    await waitForState(native, 'connected');

    const sio = legacy(server, 'live', 'sio-user');
    await connected(sio);
    const sioGot = inbox(sio);
    await subscribed(sio, ['room:1']);
    await ask(sio, 'subscribeCount', ['room:1']);
    await until(() => sioGot.some((p) => (p as { type?: string }).type === 'count' && (p as { count: number }).count === 2), 'socket.io sees 2 users');
    await until(() => nativeCounts.at(-1)?.users === 2, 'native sees 2 users');
    expect(nativeCounts.at(-1)).toEqual({ users: 2, connections: 2 });

    const res = await notify(server, { appId: 'live', eventTopics: ['room:1'], data: { goal: 1 } });
    expect(res.body.delivered).toBe(2);
    await until(() => nativeGot.length === 1 && sioGot.some((p) => (p as { goal?: number }).goal === 1), 'both deliveries');
    expect(nativeGot[0]).toMatchObject({ topic: 'room:1', data: { goal: 1 } });
  });
});

describe('socket.io bridge: online counts', () => {
  it('pushes { type: count, topic, count } of distinct users as 20 users join, only on change', async () => {
    const server = await startBridge({ presenceInterval: 20 });
    const watcher = legacy(server, 'live', 'host');
    await connected(watcher);
    const got = inbox(watcher);
    expect(await ask(watcher, 'subscribeCount', ['chat:room-general'])).toEqual({ ok: true, results: { 'chat:room-general': { ok: true } } });
    await until(() => got.length > 0, 'initial count');
    expect(got[0]).toEqual({ type: 'count', topic: 'chat:room-general', count: 0 });

    const users = Array.from({ length: 20 }, (_, i) => legacy(server, 'live', `viewer-${i}`));
    for (const s of users) {
      await connected(s);
      await subscribed(s, ['chat:room-general']);
    }
    // A second connection of one user is not another user.
    const again = legacy(server, 'live', 'viewer-0', 'second-device');
    await connected(again);
    await subscribed(again, ['chat:room-general']);
    await until(() => (got.at(-1) as { count: number }).count === 20, 'count 20');
    const counts = got.map((p) => (p as { count: number }).count);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]!); // changes only, rising
    expect(got.every((p) => (p as { topic: string }).topic === 'chat:room-general')).toBe(true);

    again.close();
    users[19]!.close();
    await until(() => (got.at(-1) as { count: number }).count === 19, 'count after one user leaves');
    expect(await ask(watcher, 'unsubscribeCount', 'chat:room-general')).toMatchObject({ ok: true });
  });
});

describe('socket.io bridge: transports', () => {
  it('works over HTTP long-polling only', async () => {
    const server = await startBridge();
    const s = legacy(server, 'shop', 'poller', 'dev-p', { transports: ['polling'] });
    await connected(s);
    const got = inbox(s);
    await subscribed(s, ['order:1']);
    await notify(server, { appId: 'shop', users: ['poller'], devices: ['dev-p'], eventTopics: ['order:1'], data: { via: 'polling' } });
    await notify(server, { appId: 'shop', eventTopics: ['order:1'], data: { marker: 'end' } });
    await until(() => got.some(isMarker('end')), 'marker');
    expect(got).toEqual([{ via: 'polling' }, { marker: 'end' }]);
    expect(s.io.engine.transport.name).toBe('polling');
  });

  it('upgrades from polling to WebSocket (the socket.io default) while native /ws keeps working on the same port', async () => {
    const server = await startBridge();
    const s = legacy(server, 'shop', 'upgrader', undefined, { transports: ['polling', 'websocket'] });
    await connected(s);
    await until(() => s.io.engine.transport.name === 'websocket', 'the upgrade');
    const native = client({ url: server.url, app: 'shop', token: await signToken('n') });
    native.connect();
    await waitForState(native, 'connected');
    const got = inbox(s);
    await notify(server, { appId: 'shop', users: ['upgrader'], data: { after: 'upgrade' } });
    await until(() => got.length === 1, 'delivery');
    expect(got).toEqual([{ after: 'upgrade' }]);
  });
});
