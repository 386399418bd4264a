import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Publication } from '../../src/protocol/frames';
import { msg, tick } from './fake-transport';
import { setup } from './setup';

afterEach(() => {
  vi.useRealTimers();
});

/** connect() and open the link, without answering `connect`. */
const opened = async (s: ReturnType<typeof setup>) => {
  s.client.connect();
  await tick();
  s.fake.link.open();
};

const valid = { client: 'c1', user: 'u1', device: null, ping: 25_000, maxFrame: 1024 * 1024, streams: {} };

describe('hostile server: unusable connect reply', () => {
  it.each<[string, unknown]>([
    ['result null', null],
    ['no result', undefined],
    ['result a string', 'ok'],
    ['result an array', []],
    ['client missing', { ...valid, client: undefined }],
    ['client a number', { ...valid, client: 5 }],
    ['user a number', { ...valid, user: 5 }],
    ['device an object', { ...valid, device: {} }],
    ['ping a string', { ...valid, ping: '25000' }],
    ['maxFrame missing', { ...valid, maxFrame: undefined }],
    ['streams missing', { ...valid, streams: undefined }],
    ['streams null', { ...valid, streams: null }],
    ['streams an array', { ...valid, streams: [] }],
  ])('%s: ends the attempt, reports once, reconnects with backoff', async (_, result) => {
    const s = setup();
    await opened(s);
    const id = s.fake.link.last('connect').id;
    s.fake.link.push(result === undefined ? { t: 'reply', id } : { t: 'reply', id, result });
    await tick();
    expect(s.client.state).toBe('reconnecting');
    expect(s.errors()).toEqual(['bad_frame']);
    expect(s.fake.link.closedByClient).toBeDefined();
    // attempt 1: [500, 1000], random 0.5 → 750
    expect(s.events.disconnected).toEqual([expect.objectContaining({ willReconnect: true, delay: 750 })]);
    await s.advance(750);
    expect(s.fake.links).toHaveLength(2);
    await s.connect();
    expect(s.client.state).toBe('connected');
    expect(s.errors()).toEqual(['bad_frame']); // still only the one report
    s.client.close();
  });

  it.each<[string, unknown]>([
    ['error a string', 'nope'],
    ['error without message', { code: 'unauthorized' }],
    ['error code a number', { code: 1, message: 'x' }],
  ])('an error reply of an unexpected shape (%s) ends the attempt at once, reported once', async (_, error) => {
    const s = setup();
    await opened(s);
    s.fake.link.push({ t: 'reply', id: s.fake.link.last('connect').id, error });
    await tick();
    expect(s.client.state).toBe('reconnecting');
    expect(s.errors()).toEqual(['bad_frame']);
    await s.advance(750);
    expect(s.fake.links).toHaveLength(2);
    s.client.close();
  });

  it('an error code naming an Object.prototype member is not a close code', async () => {
    const s = setup();
    await opened(s);
    s.fake.link.fail(s.fake.link.last('connect').id, 'constructor');
    await tick();
    expect(s.client.state).toBe('reconnecting');
    expect(s.events.disconnected).toEqual([expect.objectContaining({ code: 1011, willReconnect: true })]);
    s.client.close();
  });

  it('a malformed reply to another request rejects it at once; one for an id never sent is reported', async () => {
    const s = setup();
    await s.connect();
    const p = s.client.request('m');
    const id = s.fake.link.last('rpc').id;
    s.fake.link.push({ t: 'reply', id, error: 'nope' });
    await expect(p).rejects.toMatchObject({ code: 'bad_frame' });
    s.fake.link.push({ t: 'reply', id: 999, error: 'nope' });
    s.fake.link.reply(1000, 'never asked'); // well-formed, never sent: ignored
    expect(s.errors()).toEqual(['bad_frame']); // the rejection is the first one's report
    expect(s.client.state).toBe('connected');
  });
});

describe('hostile server: messages for streams that are not ours', () => {
  it('drops messages for topics never subscribed and personal streams of others, duplicates included', async () => {
    const s = setup();
    const got: Publication[] = [];
    s.client.subscribe('mine', (m) => got.push(m));
    await s.connect({ user: 'u1', streams: { 'user:u1': { epoch: 'e1', offset: 0, recovered: true, pubs: [] } } });
    s.fake.link.subscribed('mine');
    for (let i = 0; i < 2; i++) {
      s.fake.link.push(msg('never-subscribed', 1));
      s.fake.link.push(msg('user:someone-else', 1));
      s.fake.link.push(msg('device:d9', 1));
    }
    expect(s.events.message).toEqual([]);
    s.fake.link.push(msg('mine', 1));
    s.fake.link.push(msg('mine', 1));
    s.fake.link.push(msg('user:u1', 1));
    s.fake.link.push(msg('user:u1', 1));
    expect((s.events.message as Publication[]).map((m) => m.topic)).toEqual(['mine', 'user:u1']);
    expect(got).toHaveLength(1);
    // Nothing about the foreign streams is kept (nor sent at the next connect, nor saved).
    s.fake.link.end();
    await s.advance(1_000);
    s.fake.link.open();
    expect(Object.keys((s.fake.link.last('connect').streams as object) ?? {})).toEqual(['user:u1']);
    s.client.close();
  });

  it('a personal stream the connect result does not grant is not ours', async () => {
    const s = setup();
    // The result names user u1 but only grants a stream of someone else.
    await s.connect({ user: 'u1', streams: { 'user:u2': { epoch: 'e1', offset: 0, recovered: true, pubs: [] } } });
    s.fake.link.push(msg('user:u2', 1));
    s.fake.link.push(msg('user:u1', 1));
    expect(s.events.message).toEqual([]);
    expect(s.events.subscribed).toEqual([]);
  });

  it('a msg whose topic is not ours but whose also names ours is delivered once, for ours', async () => {
    const s = setup();
    const mine: Publication[] = [];
    s.client.subscribe('mine', (m) => mine.push(m));
    await s.connect();
    s.fake.link.subscribed('mine', { offset: 4 });
    const m = msg('other', 9, 'x', { id: 'm1', also: { mine: 5, elsewhere: 3 } });
    s.fake.link.push(m);
    s.fake.link.push(m);
    s.fake.link.push(msg('mine', 5, 'dup by offset', { id: 'm1-again' }));
    expect(mine.map((p) => p.data)).toEqual(['x']);
    expect(s.events.message).toHaveLength(1);
    // Nothing of ours in `also` either: dropped.
    s.fake.link.push(msg('other', 10, 'y', { id: 'm2', also: { elsewhere: 4 } }));
    expect(s.events.message).toHaveLength(1);
  });

  it('also naming the primary topic again, or with non-integer offsets, delivers once', async () => {
    const s = setup();
    const mine: Publication[] = [];
    s.client.subscribe('mine', (m) => mine.push(m));
    s.client.subscribe('b', (m) => mine.push(m));
    await s.connect();
    s.fake.link.subscribed('mine', { offset: 0 });
    s.fake.link.subscribed('b', { offset: 0 });
    s.fake.link.push(msg('mine', 1, 'x', { id: 'm1', also: { mine: 1, b: '7' } }));
    expect(mine.map((p) => p.topic)).toEqual(['mine']);
    // The string offset did not poison b's position: b's next message is still new.
    s.fake.link.push(msg('b', 1, 'y'));
    expect(mine.map((p) => p.topic)).toEqual(['mine', 'b']);
    expect(s.events.gap).toEqual([]);
  });

  it('a sub reply replays only well-formed messages of that topic; a malformed result is reported', async () => {
    const s = setup();
    const got: Publication[] = [];
    s.client.subscribe('t', (m) => got.push(m));
    s.client.subscribe('u', () => {});
    await s.connect();
    s.fake.link.subscribed('t', { offset: 2, pubs: [msg('t', 1, 'ok'), msg('u', 1, 'wrong topic'), { topic: 't', offset: 'x' }, null] });
    expect(got.map((m) => m.data)).toEqual(['ok']);
    expect(s.events.subscribed).toEqual([{ topic: 't', recovered: false }]); // dropped replays are a gap
    s.fake.link.reply(s.fake.link.last('sub').id, { epoch: 5, offset: 'x', pubs: [] });
    expect(s.errors()).toEqual(['bad_frame']);
  });

  it('drops count frames for topics not watched, and malformed watch replies', async () => {
    const s = setup();
    const counts: unknown[] = [];
    s.client.onlineCount('w', (c) => counts.push(c));
    await s.connect();
    s.fake.link.push({ t: 'count', topic: 'other', users: 1, connections: 1 });
    s.fake.link.reply(s.fake.link.last('watch').id, { users: 'lots', connections: -1 });
    expect(counts).toEqual([]);
    expect(s.errors()).toEqual(['bad_frame']);
    s.fake.link.push({ t: 'count', topic: 'w', users: 2, connections: 3 });
    expect(counts).toEqual([{ users: 2, connections: 3 }]);
  });
});

describe('hostile server: numbers are clamped', () => {
  it('ping 1e12 does not overflow the heartbeat timer (clamped to 10 min)', async () => {
    const s = setup({ heartbeat: { timeout: 1_000 } });
    await s.connect({ ping: 1e12 });
    await s.advance(1_500);
    expect(s.fake.links).toHaveLength(1);
    expect(s.client.state).toBe('connected');
    await s.advance(600_000 + 1_000 + 601_000 / 8);
    expect(s.client.state).toBe('reconnecting'); // the clamped window still detects silence
  });

  it.each([-5, 0, 1])('ping %d is clamped to at least 100 ms (no heartbeat timer storm)', async (ping) => {
    const s = setup({ heartbeat: { timeout: 0 } });
    const spy = vi.spyOn(globalThis, 'setTimeout');
    await s.connect({ ping });
    const before = spy.mock.calls.length;
    await s.advance(99);
    expect(s.client.state).toBe('connected');
    expect(s.fake.links).toHaveLength(1);
    // A 100 ms window ticks every 12.5 ms: at most 8 heartbeat timers in 99 ms (a 1 ms window would set ~800).
    expect(spy.mock.calls.length - before).toBeLessThanOrEqual(10);
    s.client.close();
  });

  it('retryAfter of a close frame is clamped to 10 min, and a non-number is ignored', async () => {
    const s = setup();
    await s.connect();
    s.fake.link.push({ t: 'close', code: 4002, reason: 'slow', reconnect: true, retryAfter: 1e15 });
    await tick();
    expect(s.events.disconnected).toEqual([expect.objectContaining({ delay: 600_000 })]);
    await s.advance(600_000);
    await s.connect();
    s.fake.link.push({ t: 'close', code: 4002, reason: 'slow', reconnect: true, retryAfter: 'soon' });
    await tick();
    // attempt 2: [500, 2000], random 0.5 → 1250; the string neither fired at once nor concatenated.
    expect((s.events.disconnected as { delay: number }[])[1]!.delay).toBe(1_250);
    await s.advance(1_249);
    expect(s.fake.links).toHaveLength(2);
    s.client.close();
  });

  it('retryAfter of an error reply is clamped, on the error and as the reconnect wait', async () => {
    const s = setup();
    await opened(s);
    s.fake.link.fail(s.fake.link.last('connect').id, 'rate_limited', 'slow', { retryAfter: 1e12 });
    await tick();
    expect((s.events.error as { retryAfter: number }[])[0]!.retryAfter).toBe(600_000);
    expect(s.events.disconnected).toEqual([expect.objectContaining({ delay: 600_000 })]);
    s.client.close();
  });

  it('maxFrame is clamped: a tiny one does not refuse every publish', async () => {
    const s = setup();
    await s.connect({ maxFrame: 1 });
    void s.client.publish('t', 'hello').catch(() => {});
    expect(s.fake.link.frames('pub')).toHaveLength(1);
    expect(s.errors()).toEqual([]);
  });
});

describe('hostile server: storms and floods', () => {
  it('a close frame with reconnect: true, retryAfter: 0 in a loop still backs off', async () => {
    const s = setup();
    await s.connect();
    for (let i = 0; i < 5; i++) {
      s.fake.link.push({ t: 'close', code: 4004, reason: 'again', reconnect: true, retryAfter: 0 });
      await tick();
      await s.advance((s.events.disconnected as { delay: number }[])[i]!.delay);
      await s.connect();
    }
    const delays = (s.events.disconnected as { delay: number }[]).map((d) => d.delay);
    expect(delays).toEqual([750, 1_250, 2_250, 4_250, 8_250]);
  });

  it('accepting connect then closing with 4100 cannot loop without delay', async () => {
    const s = setup({ token: () => 'tk' });
    await s.connect();
    const state = () => s.client.state as string;
    for (let i = 0; i < 10 && state() !== 'closed'; i++) {
      s.fake.link.push({ t: 'close', code: 4100, reason: 'no', reconnect: true });
      await tick();
      if (state() === 'closed') break;
      await s.advance(0);
      await s.connect();
    }
    expect(s.client.state).toBe('closed');
    expect(s.fake.links.length).toBeLessThanOrEqual(2);
  });

  it('expired repeated in a loop calls the token function at most once per 5 s', async () => {
    let calls = 0;
    const s = setup({ token: () => `tk${++calls}` });
    await s.connect();
    for (let i = 0; i < 100; i++) s.fake.link.push({ t: 'expired', grace: 10_000 });
    await tick();
    expect(calls).toBe(2); // connect + one refresh
    expect(s.fake.link.frames('refresh')).toHaveLength(1);
    await s.advance(5_000);
    s.fake.link.push({ t: 'expired', grace: 10_000 });
    await tick();
    expect(s.fake.link.frames('refresh')).toHaveLength(2);
  });

  it('a huge streams map in the connect result is not walked, stored or sent back', async () => {
    const s = setup();
    const streams: Record<string, unknown> = { 'user:u1': { epoch: 'e1', offset: 3, recovered: true, pubs: [] } };
    for (let i = 0; i < 50_000; i++) streams[`user:x${i}`] = { epoch: 'e1', offset: 1, recovered: true, pubs: [] };
    await s.connect({ user: 'u1', streams: streams as never });
    expect(s.events.subscribed).toEqual([{ topic: 'user:u1', recovered: true }]);
    s.fake.link.end();
    await s.advance(1_000);
    s.fake.link.open();
    expect(s.fake.link.last('connect').streams).toEqual({ 'user:u1': { epoch: 'e1', offset: 3 } });
    s.client.close();
  });

  it('ignores frames arriving after close()', async () => {
    const s = setup();
    s.client.subscribe('t', () => {});
    await s.connect();
    s.fake.link.subscribed('t');
    const link = s.fake.link;
    s.client.close();
    link.push(msg('t', 1));
    link.push({ t: 'close', code: 4004, reason: 'x', reconnect: true });
    link.push({ t: 'expired', grace: 1 });
    await s.advance(60_000);
    expect(s.events.message).toEqual([]);
    expect(s.client.state).toBe('closed');
    expect(s.fake.links).toHaveLength(1);
  });
});
