import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStorage } from '../../src/storage/memory';
import { setup } from './setup';
import { tick } from './fake-transport';

afterEach(() => {
  vi.useRealTimers();
});

// Which channel each failure takes (README, "Errors"): a rejected promise, or the `error` event /
// a subscription's `onError`, never both for one failure; a normal close() is no failure at all.
describe('a normal close() emits no error', () => {
  it('with unsub, unwatch, sub and watch requests still in flight', async () => {
    const { client, fake, connect, errors, states } = setup();
    const subErrors: unknown[] = [];
    const early = client.subscribe('a', () => {}, { onError: (e) => subErrors.push(e) });
    const stopEarly = client.onlineCount('a', () => {});
    await connect();
    fake.link.subscribed('a');
    fake.link.reply(fake.link.last('watch').id, { users: 1, connections: 1 });
    // Unanswered: the unsubscribes of what the app stopped, the subscribes of what it just started.
    early.unsubscribe();
    stopEarly();
    client.subscribe('b', () => {}, { onError: (e) => subErrors.push(e) });
    client.onlineCount('b', () => {});
    expect(fake.link.frames('unsub')).toHaveLength(1);
    expect(fake.link.frames('unwatch')).toHaveLength(1);
    client.close();
    await tick();
    expect(errors()).toEqual([]);
    expect(subErrors).toEqual([]);
    expect(states()).toEqual(['connecting', 'connected', 'closed']);
  });

  it('while connect is still unanswered', async () => {
    const { client, fake, errors } = setup();
    client.subscribe('a', () => {});
    client.connect();
    await tick();
    fake.link.open();
    expect(fake.link.frames('connect')).toHaveLength(1);
    client.close();
    await tick();
    expect(errors()).toEqual([]);
    expect(client.state).toBe('closed');
  });

  it('with publishes waiting, restored from storage or new; they stay saved for the next session', async () => {
    const storage = memoryStorage();
    await storage.set('sdk-realtime:shop:outbox', JSON.stringify([{ t: 'pub', topic: 't', data: 1, key: 'k1', deadline: Date.now() + 60_000 }]));
    const { client, fake, errors } = setup({ storage });
    client.connect();
    await tick();
    const fresh = client.publish('t', 2, { key: 'k2' });
    await tick();
    fake.link.open(); // a live link, closed by close(): its last save must not erase the outbox
    client.close();
    await expect(fresh).rejects.toMatchObject({ code: 'closed' });
    await tick();
    expect(errors()).toEqual([]);
    const saved = JSON.parse((await storage.get('sdk-realtime:shop:outbox'))!) as { key: string }[];
    expect(saved.map((p) => p.key)).toEqual(['k1', 'k2']);
  });

  it('and still saves the stream positions it reached', async () => {
    const storage = memoryStorage();
    const { client, fake, connect } = setup({ storage });
    client.subscribe('t', () => {});
    await connect();
    fake.link.subscribed('t', { offset: 4 });
    client.close();
    await tick();
    expect(JSON.parse((await storage.get('sdk-realtime:shop:streams'))!)).toEqual([['t', { epoch: 'e1', offset: 4 }]]);
  });
});

describe('a failure with a promise rejects it and emits no error', () => {
  it('outbox_full, too_large, timeout, a server refusal, a lost link, closed and not_connected', async () => {
    const { client, fake, connect, advance, errors } = setup({ outbox: { size: 1 }, requestTimeout: 1_000 });
    const waiting = client.publish('t', 'waits');
    await expect(client.publish('t', 'one too many')).rejects.toMatchObject({ code: 'outbox_full' });
    await connect();
    fake.link.reply(fake.link.last('pub').id, { id: 'm1', offset: 1 });
    await expect(waiting).resolves.toEqual({ id: 'm1', offset: 1 });
    await expect(client.publish('t', 'x'.repeat(2 * 1024 * 1024))).rejects.toMatchObject({ code: 'too_large' });
    const slow = expect(client.request('slow')).rejects.toMatchObject({ code: 'timeout' });
    await advance(1_000);
    await slow;
    const refused = client.publish('t', 1);
    fake.link.fail(fake.link.last('pub').id, 'forbidden', 'no');
    await expect(refused).rejects.toMatchObject({ code: 'forbidden' });
    const lost = client.request('m');
    fake.link.end();
    await expect(lost).rejects.toMatchObject({ code: 'transport' });
    const pending = client.request('m');
    client.close();
    await expect(pending).rejects.toMatchObject({ code: 'closed' });
    await expect(client.publish('t', 1)).rejects.toMatchObject({ code: 'not_connected' });
    expect(errors()).toEqual([]);
  });
});

describe('a failure without a promise is reported', () => {
  it('a refused watch reaches the error event; a refused subscription its onError and the error event', async () => {
    const { client, fake, connect, errors } = setup();
    const subErrors: string[] = [];
    client.onlineCount('w', () => {});
    client.subscribe('s', () => {}, { onError: (e) => subErrors.push(e.code) });
    await connect();
    fake.link.fail(fake.link.last('watch').id, 'forbidden');
    fake.link.fail(fake.link.last('sub').id, 'too_many_subscriptions');
    expect(subErrors).toEqual(['too_many_subscriptions']);
    expect(errors()).toEqual(['forbidden', 'too_many_subscriptions']);
  });

  it('a publish restored from storage that the server refuses is reported (its promise is gone)', async () => {
    const storage = memoryStorage();
    await storage.set('sdk-realtime:shop:outbox', JSON.stringify([{ t: 'pub', topic: 't', data: 1, key: 'k1', deadline: Date.now() + 60_000 }]));
    const { fake, connect, errors } = setup({ storage });
    await connect();
    fake.link.fail(fake.link.last('pub').id, 'forbidden');
    await tick();
    expect(errors()).toEqual(['forbidden']);
  });
});
