import { afterEach, describe, expect, it } from 'vitest';
import type { Publication } from '../../src/protocol/frames';
import { redisBroker } from '../../server/src/index';
import { startProxy } from '../support/proxy';
import { startRedis } from '../support/redis';
import {
  cleanup,
  client,
  notify,
  onCleanup,
  signToken,
  sleep,
  startServer,
  waitFor,
  waitForState,
} from '../support/harness';

afterEach(cleanup);

async function proxied(options: Parameters<typeof startServer>[0] = {}) {
  const server = await startServer(options);
  const proxy = await startProxy(server.port);
  onCleanup(() => proxy.close());
  return { server, proxy };
}

describe('the client across real network faults', () => {
  /** Restart the server behind a proxy while messages are published; what did the client get? */
  async function restartDuringTraffic(options: Parameters<typeof startServer>[0]) {
    let server = await startServer(options);
    const port = server.port;
    const proxy = await startProxy(port);
    onCleanup(() => proxy.close());

    const c = client({ url: proxy.url(), app: 'shop', token: async () => signToken('u1') });
    const got: Publication[] = [];
    const recoveries: boolean[] = [];
    const gaps: string[] = [];
    c.subscribe('ticker', (m) => got.push(m), {
      onSubscribed: (r: { recovered: boolean }) => recoveries.push(r.recovered),
      onGap: (g: { reason: string }) => gaps.push(g.reason),
    });
    c.connect();
    await waitFor(() => recoveries.length === 1, 'first subscription');
    for (let i = 1; i <= 3; i++) await notify(server, { appId: 'shop', eventTopics: ['ticker'], data: i });
    await waitFor(() => got.length === 3, 'three live messages');

    // Outage: the server goes away and nobody can reach it until it is back.
    proxy.refuse();
    await server.close();
    await waitFor(() => c.state === 'reconnecting', 'client notices the outage');
    server = await startServer({ ...options, port });
    for (let i = 4; i <= 8; i++) await notify(server, { appId: 'shop', eventTopics: ['ticker'], data: i });
    proxy.accept();

    await waitFor(() => recoveries.length === 2, 'resubscribed after the restart', 8000);
    for (let i = 9; i <= 10; i++) await notify(server, { appId: 'shop', eventTopics: ['ticker'], data: i });
    await waitFor(() => got.at(-1)?.data === 10, 'live messages after recovery');
    await sleep(100);
    return { data: got.map((m) => m.data), recoveries, gaps };
  }

  it('recovers every message published while the server restarted, in order, once, when history is in Redis', async () => {
    const redis = await startRedis();
    onCleanup(() => redis.stop());
    const { data, recoveries, gaps } = await restartDuringTraffic({ broker: redisBroker({ url: redis.url }) });
    expect(data).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(recoveries).toEqual([true, true]);
    expect(gaps).toEqual([]);
  });

  it('tells the app to refetch, replaying nothing, when an in-memory server restarted and lost its history', async () => {
    const { data, recoveries, gaps } = await restartDuringTraffic({});
    // 4..8 are gone with the old process's memory; the client says so instead of pretending.
    expect(data).toEqual([1, 2, 3, 9, 10]);
    expect(recoveries).toEqual([true, false]);
    expect(gaps).toEqual(['not_recovered']);
  });

  it('recovers messages missed during a dropped link from the same server history', async () => {
    const { server, proxy } = await proxied();
    const c = client({ url: proxy.url(), app: 'shop', token: await signToken('u1', { device: 'dev-1' }), deviceId: 'dev-1' });
    const topic: Publication[] = [];
    const personal: Publication[] = [];
    c.on('message', (m) => (m.topic === 'ticker' ? topic : personal).push(m));
    c.subscribe('ticker', () => {});
    c.connect();
    await waitForState(c, 'connected');
    await sleep(50);
    await notify(server, { appId: 'shop', eventTopics: ['ticker'], users: ['u1'], data: 0 });
    await waitFor(() => topic.length === 1, 'first message');

    proxy.refuse();
    proxy.drop();
    await waitFor(() => c.state === 'reconnecting', 'reconnecting');
    await notify(server, { appId: 'shop', eventTopics: ['ticker'], data: 1 });
    await notify(server, { appId: 'shop', users: ['u1'], data: 'for u1' });
    await notify(server, { appId: 'shop', devices: ['dev-1'], data: 'for the device' });
    proxy.accept();

    await waitFor(() => topic.length === 2 && personal.length === 2, 'topic and personal streams recovered', 8000);
    await sleep(100);
    expect(topic.map((m) => m.data)).toEqual([0, 1]);
    expect(personal.map((m) => [m.topic, m.data])).toEqual([
      ['user:u1', 'for u1'],
      ['device:dev-1', 'for the device'],
    ]);
  });

  it('detects a half-open link within ping interval + timeout and reconnects', async () => {
    const pingInterval = 300;
    const timeout = 300;
    const { proxy } = await proxied({ pingInterval } as never);
    const c = client({ url: proxy.url(), app: 'shop', token: await signToken('u1'), heartbeat: { timeout } });
    c.connect();
    await waitForState(c, 'connected');

    proxy.blackhole(); // both sockets stay open; no byte moves
    const start = Date.now();
    await waitFor(() => c.state !== 'connected', 'half-open detected', 3000);
    const detectedAfter = Date.now() - start;
    expect(detectedAfter).toBeLessThanOrEqual(pingInterval + timeout + 150);
    proxy.pass();
    await waitForState(c, 'connected', 5000);
  });

  it('refreshes an expiring token in place without losing subscriptions', async () => {
    const server = await startServer({ tokenGrace: 2000 } as never);
    let issued = 0;
    const c = client({
      url: server.url,
      app: 'shop',
      token: async () => {
        issued++;
        return signToken('u1', { expiresInSeconds: 2 });
      },
    });
    const states: string[] = [];
    c.on('state', (s) => states.push(s.state));
    const got: Publication[] = [];
    c.subscribe('ticker', (m) => got.push(m));
    c.connect();
    await waitForState(c, 'connected');
    await waitFor(() => issued >= 2, 'token refreshed after expiry', 6000);
    await sleep(200);
    expect(c.state).toBe('connected');
    expect(states.filter((s) => s === 'reconnecting')).toHaveLength(0); // the connection was kept
    await notify(server, { appId: 'shop', eventTopics: ['ticker'], data: 'after refresh' });
    await waitFor(() => got.length === 1, 'delivery after refresh');
  });

  it('delivers a publish made while offline exactly once after reconnect', async () => {
    const { server, proxy } = await proxied({ canPublish: () => true } as never);
    const reader = client({ url: server.url, app: 'chat', token: await signToken('reader') });
    const got: Publication[] = [];
    reader.subscribe('room', (m) => got.push(m));
    reader.connect();

    const writer = client({ url: proxy.url(), app: 'chat', token: await signToken('writer') });
    proxy.refuse();
    writer.connect();
    await waitFor(() => writer.state === 'reconnecting' || writer.state === 'connecting', 'writer offline');
    const acks = [writer.publish('room', { text: 'one' }), writer.publish('room', { text: 'two' })];
    await sleep(200);
    expect(got).toHaveLength(0);
    proxy.accept();
    const results = await Promise.all(acks);
    expect(results.map((r) => typeof r.id)).toEqual(['string', 'string']);
    await waitFor(() => got.length === 2, 'both publishes delivered');
    await sleep(100);
    expect(got.map((m) => m.data)).toEqual([{ text: 'one' }, { text: 'two' }]);
  });

  it('applies a publish once when its ack was lost and the client resent it after reconnecting', async () => {
    const pingInterval = 300;
    const { server, proxy } = await proxied({ pingInterval, canPublish: () => true } as never);
    const reader = client({ url: server.url, app: 'chat', token: await signToken('reader') });
    const got: Publication[] = [];
    reader.subscribe('room', (m) => got.push(m));
    reader.connect();
    const writer = client({ url: proxy.url(), app: 'chat', token: await signToken('writer'), heartbeat: { timeout: 300 } });
    writer.connect();
    await Promise.all([waitForState(reader, 'connected'), waitForState(writer, 'connected')]);

    proxy.blackhole('down'); // the publish reaches the server; its ack never comes back
    const ack = writer.publish('room', 'exactly once');
    await waitFor(() => got.length === 1, 'server applied the publish');
    await waitFor(() => writer.state !== 'connected', 'writer detects the dead link', 3000);
    proxy.pass();
    await expect(ack).resolves.toMatchObject({ offset: 1 });
    await sleep(200);
    expect(got.map((m) => m.data)).toEqual(['exactly once']);
  });
});

describe('server memory bounds', () => {
  it('cuts loose a client that stopped reading (4005) and the client recovers what it missed', async () => {
    const { server, proxy } = await proxied({ maxBufferedBytes: 64 * 1024 } as never);
    const c = client({ url: proxy.url(), app: 'feed', token: await signToken('slow') });
    const got: Publication[] = [];
    c.subscribe('firehose', (m) => got.push(m));
    c.connect();
    await waitForState(c, 'connected');
    await waitFor(() => server.stats().subscriptions === 1, 'subscription');

    proxy.stall(); // the client's side stops reading; the server's socket backs up
    const payload = 'x'.repeat(16 * 1024);
    let sent = 0;
    // Publish until the server gives up on the stalled connection (bounded: at most 2000 messages).
    while (server.stats().connections > 0 && sent < 2000) {
      await server.publish('feed', { eventTopics: ['firehose'], data: { n: ++sent, payload } });
    }
    expect(server.stats().connections).toBe(0);
    expect(sent).toBeLessThan(1000); // all still in history (default size 1000)
    proxy.pass();
    await waitFor(() => got.length === sent, 'recovery of the missed messages', 10_000);
    await sleep(100);
    expect(got.map((m) => (m.data as { n: number }).n)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
  });
});
