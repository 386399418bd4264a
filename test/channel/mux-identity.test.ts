import { describe, expect, it } from 'vitest';
import { multiplexTransport } from '../../src/channel/mux';
import type { TransportHandlers } from '../../src/transports/types';
import { fakeTransport, tick } from '../client/fake-transport';

const jwt = (sub: string, extra: Record<string, unknown> = {}) =>
  `h.${Buffer.from(JSON.stringify({ sub, ...extra })).toString('base64url')}.s`;

/** A client link through the multiplexer, driven by hand. */
function down(mux: ReturnType<typeof multiplexTransport>) {
  const got: Record<string, unknown>[] = [];
  const ev = { opened: false, closed: undefined as number | undefined };
  const handlers: TransportHandlers = {
    onOpen: () => (ev.opened = true),
    onMessage: (d) => got.push(JSON.parse(d as string)),
    onClose: (code) => (ev.closed = code),
  };
  const conn = mux('ws://x/ws', handlers);
  const connect = (id: number, token?: string, extra: Record<string, unknown> = {}) =>
    conn.send(JSON.stringify({ t: 'connect', id, v: 1, app: 'shop', token, ...extra }));
  return { conn, got, ev, connect };
}

const result = (user: string, extra: Record<string, unknown> = {}) => ({
  client: 'c',
  user,
  device: null,
  ping: 25_000,
  maxFrame: 1 << 20,
  streams: { [`user:${user}`]: { epoch: 'e', offset: 0, recovered: true, pubs: [] } },
  ...extra,
});

describe('multiplexTransport identity', () => {
  it('keys connections by (app, device, token subject): other users and devices open their own', async () => {
    const up = fakeTransport();
    const mux = multiplexTransport(up.transport);
    const a = down(mux);
    const b = down(mux);
    const c = down(mux);
    const a2 = down(mux);
    await tick();
    a.connect(1, jwt('alice'));
    b.connect(1, jwt('bob'));
    c.connect(1, jwt('alice'), { device: 'd2' });
    a2.connect(7, jwt('alice', { iat: 2 }));
    expect(up.links).toHaveLength(3);
    for (const l of up.links) l.open();
    expect(up.links.map((l) => [l.last('connect').token, l.last('connect').device])).toEqual([
      [jwt('alice'), undefined],
      [jwt('bob'), undefined],
      [jwt('alice'), 'd2'],
    ]);
    up.links[0]!.accept(result('alice'));
    up.links[1]!.accept(result('bob'));
    // alice's second tab joins alice's connection: its personal stream is recovered with a sub there.
    const sub = up.links[0]!.last('sub');
    expect(sub.topic).toBe('user:alice');
    up.links[0]!.reply(sub.id, { epoch: 'e', offset: 0, recovered: true, pubs: [] });
    expect(a2.got[0]).toMatchObject({ t: 'reply', id: 7, result: { user: 'alice' } });
    expect(b.got[0]).toMatchObject({ t: 'reply', id: 1, result: { user: 'bob' } });
    // A personal message of alice never reaches bob.
    up.links[0]!.push({ t: 'msg', topic: 'user:alice', id: 'm', offset: 1, epoch: 'e', ts: 1, data: 'x' });
    expect(b.got.filter((f) => f.t == 'msg')).toEqual([]);
    expect(a.got.filter((f) => f.t == 'msg')).toHaveLength(1);
    expect(a2.got.filter((f) => f.t == 'msg')).toHaveLength(1);
  });

  it('when the first connect is refused, the next waiting one goes up instead of waiting forever', async () => {
    const up = fakeTransport();
    const mux = multiplexTransport(up.transport);
    const a = down(mux);
    const b = down(mux);
    await tick();
    a.connect(1, jwt('alice', { v: 'expired' }));
    b.connect(1, jwt('alice', { v: 'fresh' }));
    up.link.open();
    up.link.fail(up.link.last('connect').id, 'unauthorized');
    expect(a.got[0]).toMatchObject({ t: 'reply', id: 1, error: { code: 'unauthorized' } });
    expect(up.link.frames('connect')).toHaveLength(2);
    expect(up.link.last('connect').token).toBe(jwt('alice', { v: 'fresh' }));
    up.link.accept(result('alice'));
    expect(b.got[0]).toMatchObject({ t: 'reply', id: 1, result: { user: 'alice' } });
  });

  it("joins recover only the connection's own personal streams, however big the result's streams map", async () => {
    const up = fakeTransport();
    const mux = multiplexTransport(up.transport);
    const a = down(mux);
    const b = down(mux);
    await tick();
    a.connect(1, jwt('alice'));
    up.link.open();
    const streams: Record<string, unknown> = { 'user:alice': { epoch: 'e', offset: 0, recovered: true, pubs: [] } };
    for (let i = 0; i < 10_000; i++) streams[`user:other${i}`] = {};
    up.link.accept(result('alice', { streams }));
    b.connect(1, jwt('alice'));
    expect(up.link.frames('sub').map((f) => f.topic)).toEqual(['user:alice']);
    // Messages on the streams the server named but did not grant to this user go only to subscribers (none).
    up.link.push({ t: 'msg', topic: 'user:other1', id: 'm', offset: 1, epoch: 'e', ts: 1, data: 'x' });
    expect(a.got.filter((f) => f.t == 'msg')).toEqual([]);
  });

  it('frames before connect go nowhere; the link opens at once', async () => {
    const up = fakeTransport();
    const mux = multiplexTransport(up.transport);
    const a = down(mux);
    await tick();
    expect(a.ev.opened).toBe(true);
    a.conn.send(JSON.stringify({ t: 'sub', id: 1, topic: 't' }));
    expect(up.links).toHaveLength(0);
  });
});
