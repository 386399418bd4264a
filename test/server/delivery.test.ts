import { afterEach, describe, expect, it } from 'vitest';
import { Raw, cleanup, notify, sleep, startServer, waitFor } from './helpers';

afterEach(cleanup);

describe('subscribe and deliver', () => {
  it('delivers a /notify to topic subscribers once, with id, offset, epoch and ts', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1');
    const sub = await raw.request({ t: 'sub', topic: 'order:1' });
    expect(sub.result).toMatchObject({ offset: 0, recovered: true, pubs: [] });

    const res = await notify(server, { appId: 'shop', eventTopics: ['order:1'], data: { status: 'paid' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ delivered: 1, streams: { 'order:1': 1 } });
    const msg = await raw.next((f) => f.t === 'msg');
    expect(msg).toMatchObject({ topic: 'order:1', id: res.body.id, offset: 1, epoch: sub.result.epoch, data: { status: 'paid' } });
    expect(Math.abs(msg.ts - Date.now())).toBeLessThan(5000);
    expect(msg.also).toBeUndefined();
  });

  it('sends one msg per connection with `also` for its other matched streams', async () => {
    const server = await startServer();
    const phone = (await Raw.connected(server, 'alice', { device: 'phone' })).raw;
    const laptop = (await Raw.connected(server, 'alice')).raw;
    const bob = (await Raw.connected(server, 'bob')).raw;
    const carol = (await Raw.connected(server, 'carol')).raw;
    await phone.request({ t: 'sub', topic: 'deals' });
    await bob.request({ t: 'sub', topic: 'deals' });

    const res = await notify(server, {
      appId: 'shop',
      users: ['alice'],
      devices: ['phone'],
      eventTopics: ['deals'],
      data: 'x',
    });
    expect(res.body).toMatchObject({ delivered: 3, streams: { deals: 1, 'user:alice': 1, 'device:phone': 1 } });

    const p = await phone.next((f) => f.t === 'msg');
    expect(p).toMatchObject({ topic: 'deals', offset: 1, also: { 'user:alice': 1, 'device:phone': 1 } });
    const l = await laptop.next((f) => f.t === 'msg');
    expect(l).toMatchObject({ topic: 'user:alice', offset: 1 });
    expect(l.also).toBeUndefined();
    const b = await bob.next((f) => f.t === 'msg');
    expect(b).toMatchObject({ topic: 'deals', offset: 1 });
    expect(new Set([p.id, l.id, b.id]).size).toBe(1);
    // A round trip on each socket after the notify: a second copy would have arrived before it.
    await Promise.all([phone, laptop, carol].map((r) => r.request({ t: 'unsub', topic: 'none' })));
    expect(phone.of('msg')).toHaveLength(1);
    expect(laptop.of('msg')).toHaveLength(1);
    expect(carol.of('msg')).toHaveLength(0);
  });

  it('orders the primary stream topics first, then users, then devices', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1', { device: 'd1' });
    await notify(server, { appId: 'shop', users: ['u1'], devices: ['d1'], data: 1 });
    const m = await raw.next((f) => f.t === 'msg');
    expect(m).toMatchObject({ topic: 'user:u1', also: { 'device:d1': 1 } });
  });

  it('isolates apps: same user and topic in another app never receive', async () => {
    const server = await startServer();
    const shop = (await Raw.connected(server, 'u1')).raw;
    const forum = (await Raw.connected(server, 'u1', { app: 'forum' })).raw;
    await shop.request({ t: 'sub', topic: 'news' });
    await forum.request({ t: 'sub', topic: 'news' });
    const res = await notify(server, { appId: 'forum', users: ['u1'], eventTopics: ['news'], data: 'f' });
    expect(res.body.delivered).toBe(1);
    await forum.next((f) => f.t === 'msg');
    await shop.request({ t: 'unsub', topic: 'none' }); // anything for shop was sent before this reply
    expect(shop.of('msg')).toHaveLength(0);
    // Offsets are per app too.
    const again = await notify(server, { appId: 'shop', eventTopics: ['news'], data: 's' });
    expect(again.body.streams).toEqual({ news: 1 });
  });

  it('refuses another user or device personal topic with forbidden and allows its own', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1', { device: 'd1' });
    expect((await raw.request({ t: 'sub', topic: 'user:u2' })).error.code).toBe('forbidden');
    expect((await raw.request({ t: 'sub', topic: 'user:u2:orders' })).error.code).toBe('forbidden');
    expect((await raw.request({ t: 'sub', topic: 'device:d2' })).error.code).toBe('forbidden');
    // `user:u1:orders` is the personal stream of user "u1:orders", not a sub-stream of u1.
    expect((await raw.request({ t: 'sub', topic: 'user:u1:orders' })).error.code).toBe('forbidden');
    expect((await raw.request({ t: 'sub', topic: 'user:u1' })).result).toMatchObject({ epoch: expect.any(String), recovered: true });
    expect((await raw.request({ t: 'sub', topic: 'device:d1' })).result).toMatchObject({ epoch: expect.any(String), recovered: true });
    expect((await raw.request({ t: 'watch', topic: 'user:u2' })).error.code).toBe('forbidden');
  });

  it('uses a custom canSubscribe hook and answers internal when it throws', async () => {
    const server = await startServer({
      canSubscribe: (_ctx, topic) => {
        if (topic === 'boom') throw new Error('hook failed');
        return topic.startsWith('public:');
      },
    });
    const { raw } = await Raw.connected(server, 'u1');
    expect((await raw.request({ t: 'sub', topic: 'public:a' })).result).toMatchObject({ epoch: expect.any(String), recovered: true });
    expect((await raw.request({ t: 'sub', topic: 'secret' })).error.code).toBe('forbidden');
    expect((await raw.request({ t: 'sub', topic: 'boom' })).error.code).toBe('internal');
    expect((await raw.request({ t: 'sub', topic: 'public:b' })).result).toMatchObject({ epoch: expect.any(String), recovered: true });
  });

  it('stops delivering after unsub', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1');
    await raw.request({ t: 'sub', topic: 'a' });
    expect((await raw.request({ t: 'unsub', topic: 'a' })).result).toEqual({});
    const res = await notify(server, { appId: 'shop', eventTopics: ['a'], data: 1 });
    expect(res.body.delivered).toBe(0);
  });

  it('limits subscriptions per connection', async () => {
    const server = await startServer({ maxSubscriptions: 2 });
    const { raw } = await Raw.connected(server, 'u1');
    await raw.request({ t: 'sub', topic: 'a' });
    await raw.request({ t: 'sub', topic: 'b' });
    expect((await raw.request({ t: 'sub', topic: 'a' })).result).toMatchObject({ epoch: expect.any(String), recovered: true }); // re-sub is not a new one
    expect((await raw.request({ t: 'sub', topic: 'c' })).error.code).toBe('too_many_subscriptions');
  });

  it('publishes in-process with server.publish like /notify', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1');
    const receipt = await server.publish('shop', { users: ['u1'], data: { hi: 1 } });
    expect(receipt).toMatchObject({ delivered: 1, streams: { 'user:u1': 1 } });
    expect(await raw.next((f) => f.t === 'msg')).toMatchObject({ topic: 'user:u1', id: receipt.id, data: { hi: 1 } });
    await waitFor(() => server.stats().connections === 1, 'stats');
  });
});

describe('recovery', () => {
  it('replays what followed `since` in the same epoch with recovered true', async () => {
    const server = await startServer();
    const first = (await Raw.connected(server, 'u1')).raw;
    const sub = await first.request({ t: 'sub', topic: 't' });
    for (let i = 1; i <= 5; i++) await notify(server, { appId: 'shop', eventTopics: ['t'], data: i });
    await first.next((f) => f.t === 'msg' && f.offset === 5);

    const second = (await Raw.connected(server, 'u1')).raw;
    const again = await second.request({ t: 'sub', topic: 't', since: { epoch: sub.result.epoch, offset: 2 } });
    expect(again.result).toMatchObject({ epoch: sub.result.epoch, offset: 5, recovered: true });
    expect(again.result.pubs.map((p: { data: number }) => p.data)).toEqual([3, 4, 5]);
    expect(again.result.pubs[0]).toMatchObject({ topic: 't', offset: 3, epoch: sub.result.epoch });

    const upToDate = await second.request({ t: 'sub', topic: 't', since: { epoch: sub.result.epoch, offset: 5 } });
    expect(upToDate.result).toMatchObject({ recovered: true, pubs: [] });
  });

  it('says recovered false, with no messages (never a partial replay), when history was trimmed by size', async () => {
    const server = await startServer({ history: { size: 3 } });
    const { raw } = await Raw.connected(server, 'u1');
    const sub = await raw.request({ t: 'sub', topic: 't' });
    for (let i = 1; i <= 6; i++) await notify(server, { appId: 'shop', eventTopics: ['t'], data: i });
    const again = await raw.request({ t: 'sub', topic: 't', since: { epoch: sub.result.epoch, offset: 1 } });
    expect(again.result).toMatchObject({ recovered: false, offset: 6, pubs: [] });
    // Starting right before the oldest kept message is still complete.
    const edge = await raw.request({ t: 'sub', topic: 't', since: { epoch: sub.result.epoch, offset: 3 } });
    expect(edge.result.recovered).toBe(true);
  });

  it('forgets the least recently published unsubscribed stream at the history.streams bound, and says so', async () => {
    const server = await startServer({ history: { streams: 2 } });
    const { raw } = await Raw.connected(server, 'u1');
    const held = await raw.request({ t: 'sub', topic: 'held' }); // subscribed: never evicted
    await notify(server, { appId: 'shop', eventTopics: ['held'], data: 'h' });
    await notify(server, { appId: 'shop', eventTopics: ['old'], data: 'o' });
    const oldEpoch = (await raw.request({ t: 'sub', topic: 'old' })).result.epoch;
    await raw.request({ t: 'unsub', topic: 'old' });
    await notify(server, { appId: 'shop', eventTopics: ['new'], data: 'n' }); // third stream: 'old' goes

    const again = await raw.request({ t: 'sub', topic: 'old', since: { epoch: oldEpoch, offset: 1 } });
    expect(again.result.recovered).toBe(false);
    expect(again.result.epoch).not.toBe(oldEpoch);
    const heldAgain = await raw.request({ t: 'sub', topic: 'held', since: { epoch: held.result.epoch, offset: 0 } });
    expect(heldAgain.result).toMatchObject({ recovered: true, epoch: held.result.epoch });
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^sdk_realtime_streams_evicted_total [1-9]/m);
  });

  it('says recovered false when history was trimmed by age', async () => {
    const server = await startServer({ history: { ttl: 100 } });
    const { raw } = await Raw.connected(server, 'u1');
    const sub = await raw.request({ t: 'sub', topic: 't' });
    await notify(server, { appId: 'shop', eventTopics: ['t'], data: 1 });
    await sleep(150);
    const again = await raw.request({ t: 'sub', topic: 't', since: { epoch: sub.result.epoch, offset: 0 } });
    expect(again.result).toMatchObject({ recovered: false, offset: 1, pubs: [] });
  });

  it('answers recovered false with no messages for an unknown epoch (the app refetches; a replay would apply twice)', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1');
    for (let i = 1; i <= 2; i++) await notify(server, { appId: 'shop', eventTopics: ['t'], data: i });
    const r = await raw.request({ t: 'sub', topic: 't', since: { epoch: 'gone', offset: 7 } });
    expect(r.result).toMatchObject({ recovered: false, offset: 2, pubs: [] });
  });

  it('recovers personal streams from connect.streams', async () => {
    const server = await startServer();
    const first = await Raw.connected(server, 'u1', { device: 'd1' });
    const epoch = first.reply.result.streams['user:u1'].epoch;
    const devEpoch = first.reply.result.streams['device:d1'].epoch;
    await notify(server, { appId: 'shop', users: ['u1'], data: 'a' });
    await notify(server, { appId: 'shop', users: ['u1'], devices: ['d1'], data: 'b' });
    const second = await Raw.connected(server, 'u1', {
      device: 'd1',
      streams: { 'user:u1': { epoch, offset: 1 }, 'device:d1': { epoch: devEpoch, offset: 0 } },
    });
    expect(second.reply.result.streams['user:u1']).toMatchObject({ recovered: true, offset: 2 });
    expect(second.reply.result.streams['user:u1'].pubs.map((p: { data: string }) => p.data)).toEqual(['b']);
    expect(second.reply.result.streams['device:d1'].pubs.map((p: { data: string }) => p.data)).toEqual(['b']);
  });

  it('sends live messages only after the subscribe reply, without repeating replayed ones', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1');
    const sub = await raw.request({ t: 'sub', topic: 't' });
    await raw.request({ t: 'unsub', topic: 't' });
    const publishing = (async () => {
      for (let i = 1; i <= 30; i++) await server.publish('shop', { eventTopics: ['t'], data: i });
    })();
    await sleep(1);
    const resub = await raw.request({ t: 'sub', topic: 't', since: { epoch: sub.result.epoch, offset: 0 } });
    await publishing;
    await waitFor(
      () => resub.result.pubs.length + raw.of('msg').length >= 30,
      'all 30 messages via replay or live',
    );
    const replyIndex = raw.frames.indexOf(resub);
    const liveBefore = raw.frames.slice(0, replyIndex).filter((f) => f.t === 'msg');
    expect(liveBefore).toHaveLength(0);
    const offsets = [...resub.result.pubs, ...raw.of('msg')].map((m: { offset: number }) => m.offset);
    expect(offsets).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});

describe('client publish', () => {
  it('is forbidden by default', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1');
    expect((await raw.request({ t: 'pub', topic: 'chat', data: 'hi', key: 'k1' })).error.code).toBe('forbidden');
  });

  it('publishes once per idempotency key and answers a resend with the first result', async () => {
    const server = await startServer({ canPublish: (ctx, topic) => ctx.user === 'u1' && topic === 'chat' });
    const { raw } = await Raw.connected(server, 'u1');
    const listener = (await Raw.connected(server, 'u2')).raw;
    await listener.request({ t: 'sub', topic: 'chat' });
    await raw.request({ t: 'sub', topic: 'chat' });
    const first = await raw.request({ t: 'pub', topic: 'chat', data: 'hi', key: 'k1' });
    expect(first.result).toMatchObject({ offset: 1 });
    const resend = await raw.request({ t: 'pub', topic: 'chat', data: 'hi', key: 'k1' });
    expect(resend.result).toEqual(first.result);
    const other = await raw.request({ t: 'pub', topic: 'chat', data: 'again', key: 'k2' });
    expect(other.result.offset).toBe(2);
    await listener.next((f) => f.t === 'msg' && f.offset === 2);
    expect(listener.of('msg').map((m) => m.data)).toEqual(['hi', 'again']);
    // The sender is subscribed too and gets its own messages.
    await raw.next((f) => f.t === 'msg' && f.offset === 2);
    expect(raw.of('msg')).toHaveLength(2);
    expect((await raw.request({ t: 'pub', topic: 'other', data: 1, key: 'k3' })).error.code).toBe('forbidden');
  });
});

describe('rpc', () => {
  it('calls methods, reports method_not_found and turns a throw into internal without closing', async () => {
    const server = await startServer({
      methods: {
        add: (p) => (p as { a: number; b: number }).a + (p as { a: number; b: number }).b,
        whoami: async (_p, ctx) => ({ user: ctx.user, app: ctx.app }),
        boom: () => {
          throw new Error('kaput');
        },
      },
    });
    const { raw } = await Raw.connected(server, 'u1');
    expect((await raw.request({ t: 'rpc', method: 'add', params: { a: 2, b: 3 } })).result).toBe(5);
    expect((await raw.request({ t: 'rpc', method: 'whoami' })).result).toEqual({ user: 'u1', app: 'shop' });
    expect((await raw.request({ t: 'rpc', method: 'nope' })).error.code).toBe('method_not_found');
    expect((await raw.request({ t: 'rpc', method: 'toString' })).error.code).toBe('method_not_found');
    const boom = await raw.request({ t: 'rpc', method: 'boom' });
    expect(boom.error.code).toBe('internal');
    expect(boom.error.message).not.toContain('kaput');
    expect((await raw.request({ t: 'rpc', method: 'add', params: { a: 1, b: 1 } })).result).toBe(2);
  });
});

describe('payload size', () => {
  it('refuses data that would not fit in a client frame: 413 on /notify, too_large on pub', async () => {
    const server = await startServer({ maxFrameBytes: 16 * 1024, canPublish: () => true });
    const res = await notify(server, { appId: 'shop', eventTopics: ['t'], data: 'x'.repeat(12 * 1024) });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'too_large', field: 'data' });
    const { raw } = await Raw.connected(server, 'u1');
    const pub = await raw.request({ t: 'pub', topic: 't', key: 'k', data: 'y'.repeat(12 * 1024) });
    expect(pub.error.code).toBe('too_large');
    expect((await raw.request({ t: 'pub', topic: 't', key: 'k2', data: 'small' })).result.offset).toBe(1);
  });

  it('answers internal when an rpc result cannot be serialized', async () => {
    const server = await startServer({ methods: { big: () => ({ n: BigInt(1) }) } });
    const { raw } = await Raw.connected(server, 'u1');
    expect((await raw.request({ t: 'rpc', method: 'big' })).error.code).toBe('internal');
  });
});
