import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Raw, cleanup, sign, sleep, startServer } from './helpers';

afterEach(cleanup);

describe('bad frames and limits', () => {
  it('answers malformed, unknown and oversized frames with their error and keeps working', async () => {
    const server = await startServer({ maxFrameBytes: 4096 });
    const { raw } = await Raw.connected(server, 'u1');
    const start = raw.frames.length;
    raw.send('not json');
    raw.send({ t: 'teleport', id: 2 });
    raw.send({ t: 'sub', id: 3 });
    raw.send({ t: 'pub', id: 4, topic: 'x', key: 'k', data: 'y'.repeat(5000) });
    raw.send('[1,2,3]');
    raw.ws.send(Buffer.from('{"t":"ping"}'), { binary: true });
    await raw.next(() => raw.frames.length >= start + 6);
    expect(raw.frames.slice(start).map((f) => f.t)).toEqual(['error', 'error', 'error', 'error', 'error', 'error']);
    expect(raw.frames.slice(start).map((f) => f.error.code)).toEqual([
      'bad_frame',
      'unknown_type',
      'bad_frame',
      'too_large',
      'bad_frame',
      'bad_frame',
    ]);
    expect((await raw.request({ t: 'sub', topic: 'ok' })).result.recovered).toBe(true);
  });

  it('closes with 1009 a frame far over the limit and keeps serving others', async () => {
    const server = await startServer({ maxFrameBytes: 1024 });
    const raw = await Raw.open(server);
    raw.send('x'.repeat(64 * 1024));
    expect((await raw.closed).code).toBe(1009);
    const { reply } = await Raw.connected(server, 'u2');
    expect(reply.result.user).toBe('u2');
  });

  it('answers pings with pong, before and after connect', async () => {
    const server = await startServer();
    const raw = await Raw.open(server);
    raw.send({ t: 'ping' });
    await raw.next((f) => f.t === 'pong');
    const reply = await raw.request({ t: 'connect', v: 1, app: 'shop', token: await sign('u1') });
    expect(reply.result.user).toBe('u1');
  });

  it('refuses frames over the rate with rate_limited and retryAfter, then recovers', async () => {
    const server = await startServer({ rateLimit: { frames: 5, per: 200 } });
    const { raw } = await Raw.connected(server, 'u1'); // takes one token
    const start = raw.frames.length;
    for (let i = 0; i < 8; i++) raw.send({ t: 'sub', id: 100 + i, topic: `t${i}` });
    await raw.next((f) => f.id === 107);
    const replies = raw.frames.slice(start).filter((f) => f.t === 'reply');
    const limited = replies.filter((f) => f.error?.code === 'rate_limited');
    expect(limited.length).toBeGreaterThanOrEqual(3);
    expect(limited[0]!.error.retryAfter).toBeGreaterThan(0);
    await sleep(limited[0]!.error.retryAfter + 50);
    expect((await raw.request({ t: 'sub', topic: 'later' })).result).toBeDefined();
  });

  it('closes a connection that keeps flooding with 4002 and a retryAfter', async () => {
    const server = await startServer({ rateLimit: { frames: 5, per: 1000 } });
    const { raw } = await Raw.connected(server, 'u1');
    for (let i = 0; i < 60 && raw.ws.readyState === WebSocket.OPEN; i++) raw.send({ t: 'ping' });
    expect((await raw.closed).code).toBe(4002);
    const close = raw.of('close')[0]!;
    expect(close).toMatchObject({ code: 4002, reconnect: true });
    expect(close.retryAfter).toBeGreaterThan(0);
  });

  it('limits watched topics per connection', async () => {
    const server = await startServer({ maxSubscriptions: 1 });
    const { raw } = await Raw.connected(server, 'u1');
    expect((await raw.request({ t: 'watch', topic: 'a' })).result).toEqual({ users: 0, connections: 0 });
    expect((await raw.request({ t: 'watch', topic: 'b' })).error.code).toBe('too_many_subscriptions');
  });

  it('closes with 4003 a connection silent for two ping intervals, and pings live ones', async () => {
    const server = await startServer({ pingInterval: 100 });
    const { raw } = await Raw.connected(server, 'u1');
    await raw.next((f) => f.t === 'ping', 1000);
    const started = Date.now();
    expect((await raw.closed).code).toBe(4003);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('keeps a connection that answers pings', async () => {
    const server = await startServer({ pingInterval: 50 });
    const { raw } = await Raw.connected(server, 'u1');
    raw.ws.on('message', (d) => {
      if (JSON.parse(String(d)).t === 'ping') raw.send({ t: 'pong' });
    });
    await sleep(400);
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    expect(raw.of('ping').length).toBeGreaterThan(3);
  });
});

describe('token expiry', () => {
  // `exp` is whole seconds from now, rounded down: 1 could expire within a millisecond of signing.
  it('sends expired, accepts refresh and keeps the subscription', async () => {
    const server = await startServer({ tokenGrace: 500 });
    const { raw } = await Raw.connected(server, 'u1', { token: await sign('u1', { exp: 2 }) });
    await raw.request({ t: 'sub', topic: 'live' });
    const expired = await raw.next((f) => f.t === 'expired', 3500);
    expect(expired.grace).toBe(500);
    expect((await raw.request({ t: 'refresh', token: await sign('u2') })).error.code).toBe('unauthorized');
    expect((await raw.request({ t: 'refresh', token: await sign('u1') })).result).toEqual({});
    await sleep(600); // past the grace of the first token
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    const receipt = await server.publish('shop', { eventTopics: ['live'], data: 'after' });
    expect(receipt.delivered).toBe(1);
    await raw.next((f) => f.t === 'msg' && f.data === 'after');
  });

  it('closes with 4001 when no refresh comes within the grace', async () => {
    const server = await startServer({ tokenGrace: 100 });
    const { raw } = await Raw.connected(server, 'u1', { token: await sign('u1', { exp: 2 }) });
    await raw.next((f) => f.t === 'expired', 3500);
    expect((await raw.closed).code).toBe(4001);
    expect(raw.of('close')[0]).toMatchObject({ code: 4001, reconnect: true });
  });
});
