import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStorage } from '../../src/storage/memory';
import { msg, tick, type SentFrame } from './fake-transport';
import { setup } from './setup';

afterEach(() => {
  vi.useRealTimers();
});

describe('outbox', () => {
  it('holds publishes and requests made offline and sends them in order after resubscribing', async () => {
    const { client, fake, connect } = setup();
    client.subscribe('t', () => {});
    const p1 = client.publish('t', 1);
    const r1 = client.request('m', { x: 1 });
    const p2 = client.publish('t', 2);
    await connect();
    expect(fake.link.sent.map((f) => f.t)).toEqual(['connect', 'sub', 'pub', 'rpc', 'pub']);
    const [pub1, rpc, pub2] = fake.link.sent.slice(2) as [SentFrame, SentFrame, SentFrame];
    expect(pub1).toMatchObject({ topic: 't', data: 1, key: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(rpc).toEqual({ t: 'rpc', method: 'm', params: { x: 1 }, id: rpc.id });
    fake.link.reply(pub2.id, { id: 'b', offset: 2 });
    fake.link.reply(rpc.id, 'ok');
    fake.link.reply(pub1.id, { id: 'a', offset: 1 });
    await expect(p1).resolves.toEqual({ id: 'a', offset: 1 });
    await expect(p2).resolves.toEqual({ id: 'b', offset: 2 });
    await expect(r1).resolves.toBe('ok');
  });

  it('rejects with outbox_full beyond the bound, without an error event (the rejection is the report)', async () => {
    const { client, errors } = setup({ outbox: { size: 2 } });
    void client.publish('t', 1).catch(() => {});
    void client.publish('t', 2).catch(() => {});
    await expect(client.publish('t', 3)).rejects.toMatchObject({ code: 'outbox_full' });
    expect(errors()).toEqual([]);
  });

  it('rejects a waiting operation with timeout at its deadline and does not send it later', async () => {
    const { client, fake, connect, advance } = setup({ outbox: { timeout: 5_000 } });
    const p = client.publish('t', 1);
    const failed = expect(p).rejects.toMatchObject({ code: 'timeout' });
    await advance(5_000);
    await failed;
    await connect();
    expect(fake.link.frames('pub')).toHaveLength(0);
  });

  it('resends an unacknowledged publish with the same key after reconnect', async () => {
    const { client, fake, connect, advance } = setup();
    await connect();
    const p = client.publish('t', 'once');
    const first = fake.link.last('pub');
    fake.link.end();
    await advance(1_000);
    await connect();
    const again = fake.link.last('pub');
    expect(again.key).toBe(first.key);
    expect(again.data).toBe('once');
    fake.link.reply(again.id, { id: 'm1', offset: 1 });
    await expect(p).resolves.toEqual({ id: 'm1', offset: 1 });
  });

  it('uses the key given in the publish options', async () => {
    const { client, fake, connect } = setup();
    await connect();
    void client.publish('t', 1, { key: 'my-key' });
    expect(fake.link.last('pub').key).toBe('my-key');
  });

  it('rejects a request in flight with transport when the link drops (requests are not resent)', async () => {
    const { client, fake, connect, advance } = setup();
    await connect();
    const r = client.request('charge', {});
    fake.link.end();
    await expect(r).rejects.toMatchObject({ code: 'transport' });
    await advance(1_000);
    await connect();
    expect(fake.link.frames('rpc')).toHaveLength(0);
  });

  it('rejects everything waiting with closed on close(), and not_connected afterwards', async () => {
    const { client, fake, connect } = setup();
    const waiting = client.publish('t', 1);
    await connect();
    const inFlight = client.request('m');
    expect(fake.link.frames('rpc')).toHaveLength(1);
    client.close();
    await expect(waiting).rejects.toMatchObject({ code: 'closed' });
    await expect(inFlight).rejects.toMatchObject({ code: 'closed' });
    await expect(client.publish('t', 2)).rejects.toMatchObject({ code: 'not_connected' });
  });

  it('saves unsent publishes to storage and a new client resends them with the same key', async () => {
    const storage = memoryStorage();
    const first = setup({ storage });
    void first.client.publish('t', 'kept').catch(() => {});
    await tick();
    const saved = JSON.parse((await storage.get('sdk-realtime:shop:outbox'))!);
    expect(saved).toEqual([{ t: 'pub', topic: 't', data: 'kept', key: expect.any(String), deadline: expect.any(Number) }]);

    const second = setup({ storage });
    await second.connect();
    expect(second.fake.link.last('pub')).toMatchObject({ topic: 't', data: 'kept', key: saved[0].key });
    second.fake.link.reply(second.fake.link.last('pub').id, { id: 'x', offset: 1 });
    await tick();
    expect(await storage.get('sdk-realtime:shop:outbox')).toBeUndefined();
  });
});

describe('stream positions through storage', () => {
  const KEY = 'sdk-realtime:shop:streams';
  const positions = async (storage: ReturnType<typeof memoryStorage>) => JSON.parse((await storage.get(KEY)) ?? '[]');

  it('saves the last positions when the page is hidden and on close, never per message', async () => {
    const storage = memoryStorage();
    const set = vi.spyOn(storage, 'set');
    const { client, fake, connect, environment } = setup({ storage });
    client.subscribe('t', () => {});
    await connect({ streams: { 'user:u1': { epoch: 'pe', offset: 2, recovered: true, pubs: [] } } });
    fake.link.subscribed('t', { epoch: 'e1', offset: 0 });
    await tick();
    set.mockClear();
    for (let i = 1; i <= 50; i++) fake.link.push(msg('t', i));
    await tick();
    expect(set).not.toHaveBeenCalled(); // 50 messages, no write

    environment.becomeHidden();
    await tick();
    expect(await positions(storage)).toEqual([
      ['user:u1', { epoch: 'pe', offset: 2 }],
      ['t', { epoch: 'e1', offset: 50 }],
    ]);
    fake.link.push(msg('t', 51));
    client.close();
    await tick();
    expect(await positions(storage)).toContainEqual(['t', { epoch: 'e1', offset: 51 }]);
  });

  it('a new client resumes from the saved positions: since in sub, personal streams in connect', async () => {
    const storage = memoryStorage();
    await storage.set(KEY, JSON.stringify([['user:u1', { epoch: 'pe', offset: 7 }], ['t', { epoch: 'e1', offset: 41 }]]));
    const { client, fake, connect } = setup({ storage });
    client.subscribe('t', () => {});
    await connect();
    expect(fake.link.last('connect').streams).toEqual({ 'user:u1': { epoch: 'pe', offset: 7 } });
    expect(fake.link.last('sub')).toMatchObject({ topic: 't', since: { epoch: 'e1', offset: 41 } });
  });
});

describe('requests', () => {
  it('correlates replies by id whatever their order', async () => {
    const { client, fake, connect } = setup();
    await connect();
    const a = client.request('a');
    const b = client.request('b');
    const [ra, rb] = fake.link.frames('rpc') as [SentFrame, SentFrame];
    fake.link.reply(rb.id, 'B');
    fake.link.reply(ra.id, 'A');
    await expect(a).resolves.toBe('A');
    await expect(b).resolves.toBe('B');
  });

  it('rejects with the server error code', async () => {
    const { client, fake, connect } = setup();
    await connect();
    const a = client.request('nope');
    fake.link.fail(fake.link.last('rpc').id, 'method_not_found');
    await expect(a).rejects.toMatchObject({ name: 'RealtimeError', code: 'method_not_found' });
  });

  it('rejects with timeout after the default 10 s, or options.timeout', async () => {
    const { client, connect, advance } = setup();
    await connect();
    const a = client.request('slow');
    const b = client.request('slow', undefined, { timeout: 100 });
    const bFailed = expect(b).rejects.toMatchObject({ code: 'timeout' });
    await advance(100);
    await bFailed;
    const aFailed = expect(a).rejects.toMatchObject({ code: 'timeout' });
    await advance(9_900);
    await aFailed;
  });

  it('refuses locally a frame larger than the server maxFrame with too_large', async () => {
    const { client, fake, connect } = setup();
    await connect({ maxFrame: 1000 });
    await expect(client.publish('t', 'x'.repeat(1000))).rejects.toMatchObject({ code: 'too_large' });
    await expect(client.request('m', 'é'.repeat(600))).rejects.toMatchObject({ code: 'too_large' });
    expect(fake.link.frames('pub')).toHaveLength(0);
    expect(client.state).toBe('connected');
  });
});

describe('presence', () => {
  it('sends one watch per topic, gives the reply then each count, and unwatches with the last handler', async () => {
    const { client, fake, connect } = setup();
    await connect();
    const a: unknown[] = [];
    const b: unknown[] = [];
    const offA = client.onlineCount('room', (c) => a.push(c));
    const offB = client.onlineCount('room', (c) => b.push(c));
    expect(fake.link.frames('watch')).toHaveLength(1);
    fake.link.reply(fake.link.last('watch').id, { users: 1, connections: 2 });
    fake.link.push({ t: 'count', topic: 'room', users: 2, connections: 3 });
    expect(a).toEqual([
      { users: 1, connections: 2 },
      { users: 2, connections: 3 },
    ]);
    expect(b).toHaveLength(2);
    offA();
    offA();
    expect(fake.link.frames('unwatch')).toHaveLength(0);
    offB();
    expect(fake.link.frames('unwatch')).toEqual([{ t: 'unwatch', id: expect.any(Number), topic: 'room' }]);
  });

  it('watches again after a reconnect', async () => {
    const { client, fake, connect, advance } = setup();
    client.onlineCount('room', () => {});
    await connect();
    fake.link.end();
    await advance(1_000);
    await connect();
    expect(fake.link.frames('watch')).toHaveLength(1);
  });
});
