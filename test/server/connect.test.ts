import { afterEach, describe, expect, it } from 'vitest';
import { Raw, cleanup, sign, startServer } from './helpers';

afterEach(cleanup);

describe('connect and auth', () => {
  it('accepts a valid token and answers with user, device, ping, maxFrame and personal streams', async () => {
    const server = await startServer({ pingInterval: 5000 });
    const { reply } = await Raw.connected(server, 'u1', { device: 'd1' });
    expect(reply.result).toMatchObject({ user: 'u1', device: 'd1', ping: 5000, maxFrame: 1024 * 1024 });
    expect(typeof reply.result.client).toBe('string');
    expect(Object.keys(reply.result.streams).sort()).toEqual(['device:d1', 'user:u1']);
    expect(reply.result.streams['user:u1']).toMatchObject({ offset: 0, recovered: true, pubs: [] });
  });

  it('refuses a badly signed token with unauthorized and close 4100 (no reconnect)', async () => {
    const server = await startServer();
    const raw = await Raw.open(server);
    const reply = await raw.request({ t: 'connect', v: 1, app: 'shop', token: await sign('u1', { secret: 'other-secret' }) });
    expect(reply.error.code).toBe('unauthorized');
    expect((await raw.closed).code).toBe(4100);
    expect(raw.of('close')[0]).toMatchObject({ code: 4100, reconnect: false });
  });

  it('refuses an expired token with close 4100 saying a fresh token may reconnect', async () => {
    const server = await startServer();
    const raw = await Raw.open(server);
    const reply = await raw.request({ t: 'connect', v: 1, app: 'shop', token: await sign('u1', { exp: -10 }) });
    expect(reply.error).toMatchObject({ code: 'unauthorized', message: 'token expired' });
    expect((await raw.closed).code).toBe(4100);
    expect(raw.of('close')[0]).toMatchObject({ code: 4100, reconnect: true });
  });

  it('refuses a missing token unless anonymous connections are allowed', async () => {
    const server = await startServer();
    const raw = await Raw.open(server);
    const reply = await raw.request({ t: 'connect', v: 1, app: 'shop' });
    expect(reply.error.code).toBe('unauthorized');
    expect((await raw.closed).code).toBe(4100);

    const open = await startServer({ allowAnonymous: true });
    const anon = await Raw.open(open);
    const ok = await anon.request({ t: 'connect', v: 1, app: 'shop' });
    expect(ok.result).toMatchObject({ user: null, device: null, streams: {} });
  });

  it('closes with 4101 when the token is bound to another app', async () => {
    const server = await startServer();
    const raw = await Raw.open(server);
    const reply = await raw.request({ t: 'connect', v: 1, app: 'shop', token: await sign('u1', { app: 'forum' }) });
    expect(reply.error.code).toBe('forbidden');
    expect((await raw.closed).code).toBe(4101);
  });

  it('closes with 4101 for an app outside `apps`', async () => {
    const server = await startServer({ apps: ['forum'] });
    const raw = await Raw.open(server);
    const reply = await raw.request({ t: 'connect', v: 1, app: 'shop', token: await sign('u1') });
    expect(reply.error.code).toBe('forbidden');
    expect((await raw.closed).code).toBe(4101);
  });

  it('refuses a device other than the one the token is bound to', async () => {
    const server = await startServer();
    const raw = await Raw.open(server);
    const reply = await raw.request({ t: 'connect', v: 1, app: 'shop', device: 'd2', token: await sign('u1', { device: 'd1' }) });
    expect(reply.error.code).toBe('unauthorized');
    expect((await raw.closed).code).toBe(4100);
  });

  it('closes with 4102 for an unsupported protocol version', async () => {
    const server = await startServer();
    const raw = await Raw.open(server);
    const reply = await raw.request({ t: 'connect', v: 99, app: 'shop', token: await sign('u1') });
    expect(reply.error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/version/) });
    expect((await raw.closed).code).toBe(4102);
    expect(raw.of('close')[0]).toMatchObject({ code: 4102, reconnect: false });
  });

  it('closes with 4102 for an invalid connect frame', async () => {
    const server = await startServer();
    const raw = await Raw.open(server);
    raw.send({ t: 'connect', id: 1, v: 1 }); // no app
    expect((await raw.closed).code).toBe(4102);
    expect(raw.of('error')[0]!.error.code).toBe('bad_frame');
  });

  it('closes with 4000 when no connect arrives within the handshake timeout', async () => {
    const server = await startServer({ handshakeTimeout: 100 });
    const raw = await Raw.open(server);
    const started = Date.now();
    expect((await raw.closed).code).toBe(4000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(raw.of('close')[0]).toMatchObject({ code: 4000, reconnect: true });
  });

  it('closes with 4000 when another frame comes before connect', async () => {
    const server = await startServer();
    const raw = await Raw.open(server);
    raw.send({ t: 'sub', id: 1, topic: 'a' });
    expect((await raw.closed).code).toBe(4000);
  });

  it('answers a second connect with bad_request and keeps the connection', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1');
    const again = await raw.request({ t: 'connect', v: 1, app: 'shop', token: await sign('u1') });
    expect(again.error.code).toBe('bad_request');
    expect((await raw.request({ t: 'sub', topic: 'a' })).result).toMatchObject({ offset: 0, recovered: true });
  });
});

// docs/protocol.md, `bad_request` and close code 4000: what happens to frames around `connect`.
describe('frames around connect', () => {
  it('a sub before any connect gets no reply: the connection closes with 4000 (reconnect)', async () => {
    const server = await startServer();
    const raw = await Raw.open(server);
    raw.send({ t: 'sub', id: 1, topic: 'lobby' });
    expect((await raw.closed).code).toBe(4000);
    expect(raw.of('reply')).toEqual([]);
    expect(raw.of('close')[0]).toMatchObject({ code: 4000, reconnect: true });
  });

  it('a sub sent right behind connect, while the token is verified, waits for it and succeeds', async () => {
    const server = await startServer();
    const raw = await Raw.open(server);
    raw.send({ t: 'connect', id: 1, v: 1, app: 'shop', token: await sign('u1') });
    raw.send({ t: 'sub', id: 2, topic: 'lobby' });
    const sub = await raw.next((f) => f.t === 'reply' && f.id === 2);
    expect(sub.error).toBeUndefined();
    expect(sub.result).toMatchObject({ offset: 0, recovered: true });
    expect(raw.frames.findIndex((f) => f.id === 1)).toBeLessThan(raw.frames.findIndex((f) => f.id === 2));
  });

  it('a second connect on a connected connection is bad_request and the connection stays up', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1');
    const again = await raw.request({ t: 'connect', v: 1, app: 'shop', token: await sign('u1') });
    expect(again.error).toMatchObject({ code: 'bad_request', message: 'already connected' });
    expect((await raw.request({ t: 'sub', topic: 'lobby' })).result).toMatchObject({ offset: 0 });
  });
});
