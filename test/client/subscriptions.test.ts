import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Publication } from '../../src/protocol/frames';
import { msg, tick } from './fake-transport';
import { setup } from './setup';

afterEach(() => {
  vi.useRealTimers();
});

const data = (list: Publication[]) => list.map((m) => m.data);

describe('subscriptions', () => {
  it('sends one sub per topic however many handlers, and unsub when the last leaves', async () => {
    const { client, fake, connect } = setup();
    await connect();
    const a = client.subscribe('t', () => {});
    const b = client.subscribe('t', () => {});
    expect(fake.link.frames('sub')).toEqual([{ t: 'sub', id: 2, topic: 't' }]);
    a.unsubscribe();
    a.unsubscribe();
    expect(fake.link.frames('unsub')).toHaveLength(0);
    b.unsubscribe();
    expect(fake.link.frames('unsub')).toEqual([{ t: 'unsub', id: 3, topic: 't' }]);
  });

  it('unsubscribe works detached from its subscription (destructured), once', async () => {
    const { client, fake, connect } = setup();
    await connect();
    const { unsubscribe } = client.subscribe('t', () => {});
    client.subscribe('u', () => {}); // another topic: must not be touched
    unsubscribe();
    unsubscribe();
    expect(fake.link.frames('unsub')).toEqual([{ t: 'unsub', id: 4, topic: 't' }]);
    // A new subscription to the same topic is not ended by the old function.
    client.subscribe('t', () => {});
    unsubscribe();
    expect(fake.link.frames('unsub')).toHaveLength(1);
  });

  it('subscriptions made before connect are sent right after connect is accepted', async () => {
    const { client, fake, connect } = setup();
    client.subscribe('t', () => {});
    await connect();
    expect(fake.link.sent.map((f) => f.t)).toEqual(['connect', 'sub']);
  });

  it('delivers to every handler of the topic and to the message event, with state and recovered', async () => {
    const { client, fake, events, connect } = setup();
    const one: Publication[] = [];
    const two: Publication[] = [];
    const sub = client.subscribe('t', (m) => one.push(m));
    client.subscribe('t', (m) => two.push(m));
    await connect();

    fake.link.subscribed('t', { offset: 4 });

    expect(sub.recovered).toBe(true);
    fake.link.push(msg('t', 5, 'hello'));
    expect(one).toEqual([expect.objectContaining({ topic: 't', id: 't#5', offset: 5, epoch: 'e1', data: 'hello' })]);
    expect(two).toHaveLength(1);
    expect(events.message).toHaveLength(1);
    expect(events.subscribed).toEqual([{ topic: 't', recovered: true }]);
  });

  it('resubscribes after a reconnect with since = last delivered position', async () => {
    const { client, fake, connect, advance } = setup();
    client.subscribe('t', () => {});
    await connect();
    fake.link.subscribed('t', { offset: 3 });
    fake.link.push(msg('t', 4));
    fake.link.push(msg('t', 5));
    fake.link.end();
    await advance(1_000);
    await connect();
    expect(fake.link.last('sub')).toMatchObject({ topic: 't', since: { epoch: 'e1', offset: 5 } });
  });

  it('delivers replayed pubs before live messages, in order, dropping duplicates', async () => {
    const { client, fake, connect, advance } = setup();
    const got: Publication[] = [];
    client.subscribe('t', (m) => got.push(m));
    await connect();
    fake.link.subscribed('t', { offset: 1 });
    fake.link.push(msg('t', 2));
    fake.link.end();
    await advance(1_000);
    await connect();
    fake.link.subscribed('t', { offset: 5, recovered: true, pubs: [msg('t', 2), msg('t', 3), msg('t', 4), msg('t', 5)] });
    fake.link.push(msg('t', 5)); // duplicate of a replayed one
    fake.link.push(msg('t', 6));
    fake.link.push(msg('t', 4)); // late duplicate
    expect(data(got)).toEqual([2, 3, 4, 5, 6]);
  });

  it('reports recovered: false as a gap to the subscription and the client', async () => {
    const { client, fake, events, connect, advance } = setup();
    const gaps: unknown[] = [];
    const recovered: boolean[] = [];
    const sub = client.subscribe('t', () => {}, {
      onGap: (g) => gaps.push(g),
      onSubscribed: (s) => recovered.push(s.recovered),
    });
    await connect();
    fake.link.subscribed('t', { offset: 10 });
    fake.link.end();
    await advance(1_000);
    await connect();

    fake.link.subscribed('t', { epoch: 'e2', offset: 2, recovered: false, pubs: [{ ...msg('t', 1), epoch: 'e2' }, { ...msg('t', 2), epoch: 'e2' }] });
    expect(recovered).toEqual([true, false]);
    expect(sub.recovered).toBe(false);
    expect(gaps).toEqual([{ topic: 't', reason: 'not_recovered' }]);
    expect(events.gap).toEqual([{ topic: 't', reason: 'not_recovered' }]);
    // the new epoch's positions are used from now on
    fake.link.push({ ...msg('t', 3), epoch: 'e2' });
    expect((events.message as Publication[]).map((m) => m.offset)).toEqual([1, 2, 3]);
  });

  it('treats a live offset jump as a gap signal but still delivers', async () => {
    const { client, fake, events, connect } = setup();
    const got: Publication[] = [];
    client.subscribe('t', (m) => got.push(m));
    await connect();
    fake.link.subscribed('t', { offset: 1 });
    fake.link.push(msg('t', 3));
    expect(data(got)).toEqual([3]);
    expect(events.gap).toEqual([{ topic: 't', reason: 'offset_jump' }]);
  });

  it('a message with also advances the other streams and is not delivered twice', async () => {
    const { client, fake, events, connect, advance } = setup({ deviceId: 'd1' });
    client.subscribe('order:1', () => {});
    await connect({
      device: 'd1',
      streams: {
        'user:u1': { epoch: 'eu', offset: 7, recovered: true, pubs: [] },
        'device:d1': { epoch: 'ed', offset: 2, recovered: true, pubs: [] },
      },
    });
    fake.link.subscribed('order:1', { offset: 0 });
    fake.link.push(msg('order:1', 1, 'paid', { id: 'X', also: { 'user:u1': 8, 'device:d1': 3 } }));
    // the same message replayed on the user stream (e.g. an explicit sub) is dropped by id
    fake.link.push({ ...msg('user:u1', 8, 'paid'), id: 'X', epoch: 'eu' });
    expect(events.message).toHaveLength(1);
    fake.link.end();
    await advance(1_000);
    await connect();
    expect(fake.link.last('connect').streams).toEqual({
      'user:u1': { epoch: 'eu', offset: 8 },
      'device:d1': { epoch: 'ed', offset: 3 },
    });
  });

  it('personal stream replays from the connect result are delivered and reported', async () => {
    const { fake, events, connect } = setup();
    await connect({
      streams: { 'user:u1': { epoch: 'eu', offset: 2, recovered: true, pubs: [{ ...msg('user:u1', 2, 'hi'), epoch: 'eu' }] } },
    });
    expect((events.message as Publication[]).map((m) => m.data)).toEqual(['hi']);
    expect(events.subscribed).toEqual([{ topic: 'user:u1', recovered: true }]);
    fake.link.push({ ...msg('user:u1', 3, 'live'), epoch: 'eu' });
    expect(events.message).toHaveLength(2);
  });

  it('a refused subscription gets onError and an error event, and ends', async () => {
    const { client, fake, errors, connect } = setup();
    let subError: { code: string } | undefined;
    const sub = client.subscribe('user:u2', () => {}, { onError: (e) => (subError = e) });
    await connect();
    fake.link.fail(fake.link.last('sub').id, 'forbidden', 'private');
    expect(subError?.code).toBe('forbidden');
    expect(errors()).toEqual(['forbidden']);
    expect(sub.recovered).toBeUndefined();
    expect(client.state).toBe('connected');
  });

  it('a throwing handler is reported as a handler error and the other handlers still run', async () => {
    const { client, fake, errors, connect } = setup();
    const got: unknown[] = [];
    client.subscribe('t', () => {
      throw new Error('app bug');
    });
    client.subscribe('t', (m) => got.push(m.data));
    await connect();
    fake.link.subscribed('t');
    expect(() => fake.link.push(msg('t', 1))).not.toThrow();
    expect(got).toEqual([1]);
    expect(errors()).toEqual(['handler']);
  });

  it('a throwing event listener is reported and does not break the client', async () => {
    const { client, errors, connect } = setup();
    client.on('connected', () => {
      throw new Error('oops');
    });
    await connect();
    await tick();
    expect(client.state).toBe('connected');
    expect(errors()).toEqual(['handler']);
  });

  it('ignores a sub reply for a topic unsubscribed meanwhile', async () => {
    const { client, fake, events, connect } = setup();
    await connect();
    const sub = client.subscribe('t', () => {});
    const id = fake.link.last('sub').id;
    sub.unsubscribe();
    fake.link.reply(id, { epoch: 'e1', offset: 0, recovered: true, pubs: [] });
    expect(events.subscribed).toHaveLength(0);
  });
});
