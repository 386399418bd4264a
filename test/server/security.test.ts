import { createServer as createHttpServer } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../server/src/brokers/memory';
import type { Delivery, Subscriber } from '../../server/src/brokers/types';
import { createServer } from '../../server/src/index';
import { onCleanup } from '../support/harness';
import { Raw, SECRET, cleanup, notify, sign, sleep, startServer, waitFor } from './helpers';

afterEach(cleanup);

/** An HS256 token with exactly these claims (no defaults added). */
const rawToken = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

describe('personal streams are bound to the verified identity', () => {
  it('ignores a device named in connect when the token has no device claim: no live messages, no history', async () => {
    const server = await startServer();
    await notify(server, { appId: 'shop', devices: ['victim-phone'], data: { code: '123456' } });
    const { raw, reply } = await Raw.connected(server, 'mallory', {
      token: await sign('mallory'),
      device: 'victim-phone',
      streams: { 'device:victim-phone': { epoch: 'x', offset: 0 } },
    });
    expect(reply.result.device).toBeNull();
    expect(Object.keys(reply.result.streams)).toEqual(['user:mallory']);
    expect((await raw.request({ t: 'sub', topic: 'device:victim-phone' })).error.code).toBe('forbidden');
    await notify(server, { appId: 'shop', devices: ['victim-phone'], data: { code: '654321' } });
    await sleep(50);
    expect(raw.of('msg')).toHaveLength(0);
    expect(JSON.stringify(raw.frames)).not.toContain('123456');
  });

  it('gives anonymous connections no personal stream, whatever device they name', async () => {
    const server = await startServer({ allowAnonymous: true, deviceOf: (_ctx, d) => d });
    await notify(server, { appId: 'shop', devices: ['victim-phone'], data: 'secret' });
    const { raw, reply } = await Raw.connected(server, 'x', {
      token: undefined,
      device: 'victim-phone',
      streams: { 'device:victim-phone': { epoch: 'x', offset: 0 } },
    });
    expect(reply.result).toMatchObject({ user: null, device: null, streams: {} });
    expect((await raw.request({ t: 'sub', topic: 'device:victim-phone' })).error.code).toBe('forbidden');
  });

  it('grants the device the deviceOf hook returns, and only that one', async () => {
    const asked: string[] = [];
    const server = await startServer({
      deviceOf: (ctx, requested) => {
        asked.push(`${ctx.user}:${requested}`);
        return requested.startsWith(`${ctx.user}-`) ? requested : null;
      },
    });
    const own = await Raw.connected(server, 'alice', { token: await sign('alice'), device: 'alice-phone' });
    expect(own.reply.result.device).toBe('alice-phone');
    expect(Object.keys(own.reply.result.streams).sort()).toEqual(['device:alice-phone', 'user:alice']);
    const other = await Raw.connected(server, 'mallory', { token: await sign('mallory'), device: 'alice-phone' });
    expect(other.reply.result.device).toBeNull();
    expect(asked).toEqual(['alice:alice-phone', 'mallory:alice-phone']);
    await notify(server, { appId: 'shop', devices: ['alice-phone'], data: 1 });
    await own.raw.next((f) => f.t === 'msg' && f.topic === 'device:alice-phone');
    await sleep(30);
    expect(other.raw.of('msg')).toHaveLength(0);
  });

  it('names one owner for any id: user:alice cannot read user:alice:bob, ids with : / % spaces and unicode', async () => {
    const server = await startServer();
    const ids = ['alice', 'alice:bob', 'a/b', '100%', 'with space', 'ünï-çødé', 'alice:'];
    const conns = new Map<string, Raw>();
    for (const id of ids) conns.set(id, (await Raw.connected(server, id)).raw);
    for (const [id, raw] of conns) {
      for (const other of ids) {
        const r = await raw.request({ t: 'sub', topic: `user:${other}` });
        if (other === id) expect(r.result, `${id} reads its own stream`).toBeDefined();
        else expect(r.error?.code, `${id} reading user:${other}`).toBe('forbidden');
      }
    }
    for (const id of ids) await notify(server, { appId: 'shop', users: [id], data: id });
    for (const [id, raw] of conns) {
      await raw.next((f) => f.t === 'msg' && f.data === id);
    }
    await sleep(30);
    for (const [id, raw] of conns) expect(raw.of('msg').map((m) => m.data), id).toEqual([id]);
  });
});

describe('history is per app and only a publish creates it', () => {
  it("a client of app B subscribing to many empty topics never evicts app A's history", async () => {
    const server = await startServer({ history: { streams: 50 } });
    const a = (await Raw.connected(server, 'a', { app: 'shop', token: await sign('a') })).raw;
    const first = await a.request({ t: 'sub', topic: 'order:1' });
    await a.request({ t: 'unsub', topic: 'order:1' });
    await notify(server, { appId: 'shop', eventTopics: ['order:1'], data: 'paid' });

    const b = (await Raw.connected(server, 'b', { app: 'forum', token: await sign('b') })).raw;
    for (let i = 0; i < 60; i++) expect((await b.request({ t: 'sub', topic: `t${i}` })).result).toBeDefined();
    // ...and app B publishing past its own bound evicts only its own streams.
    for (let i = 0; i < 60; i++) await notify(server, { appId: 'forum', eventTopics: [`p${i}`], data: i });

    const again = await a.request({ t: 'sub', topic: 'order:1', since: { epoch: first.result.epoch, offset: 0 } });
    expect(again.result).toMatchObject({ recovered: true, epoch: first.result.epoch, offset: 1 });
    expect(again.result.pubs.map((p: { data: string }) => p.data)).toEqual(['paid']);
  });

  it('bounds the streams one connection can create by publishing (maxSubscriptions distinct topics)', async () => {
    const server = await startServer({ canPublish: () => true, maxSubscriptions: 3 });
    const { raw } = await Raw.connected(server, 'u1');
    for (const t of ['a', 'b', 'c', 'a']) expect((await raw.request({ t: 'pub', topic: t, key: `k-${t}-${Math.random()}`, data: 1 })).result).toBeDefined();
    const refused = await raw.request({ t: 'pub', topic: 'd', key: 'k-d', data: 1 });
    expect(refused.error).toMatchObject({ code: 'too_many_subscriptions' });
    expect(refused.error.message).toContain('published per connection');
  });

  it('a subscriber that came before the first publish recovers from offset 0 in the epoch it was given', async () => {
    const broker = new MemoryBroker({ history: { size: 10, ttl: 60_000, streams: 2 } });
    onCleanup(() => broker.close());
    const empty = await broker.history('shop', 'later');
    expect(empty).toMatchObject({ offset: 0, recovered: true, pubs: [] });
    await broker.publish('shop', ['later'], 'x');
    const r = await broker.history('shop', 'later', { epoch: empty.epoch, offset: 0 });
    expect(r).toMatchObject({ epoch: empty.epoch, offset: 1, recovered: true });
    expect(r.pubs.map((p) => p.data)).toEqual(['x']);
  });

  it('a stream forgotten and created again never reuses an epoch, so reused offsets are not mistaken', async () => {
    const broker = new MemoryBroker({ history: { size: 10, ttl: 60_000, streams: 1 } });
    onCleanup(() => broker.close());
    const pending = await broker.history('shop', 's'); // a client holds (pending epoch, 0)
    await broker.publish('shop', ['s'], 1);
    const created = await broker.history('shop', 's');
    await broker.publish('shop', ['other'], 2); // bound 1: 's' is forgotten
    await broker.publish('shop', ['s'], 3); // 's' again, offset 1 again
    for (const since of [
      { epoch: pending.epoch, offset: 0 },
      { epoch: created.epoch, offset: 1 },
    ]) {
      expect(await broker.history('shop', 's', since)).toMatchObject({ recovered: false });
    }
  });

  it('never evicts a stream somebody is subscribed to, and evicts in O(1) the least recently used idle one', async () => {
    const broker = new MemoryBroker({ history: { size: 10, ttl: 60_000, streams: 2 } });
    onCleanup(() => broker.close());
    const got: unknown[] = [];
    const sub: Subscriber = { deliver: (d: Delivery) => got.push(d.data) };
    broker.subscribe('shop', 'held', sub);
    await broker.publish('shop', ['held'], 'h');
    const held = await broker.history('shop', 'held');
    for (let i = 0; i < 5; i++) await broker.publish('shop', [`idle${i}`], i);
    await broker.publish('shop', ['held'], 'h2');
    expect(got).toEqual(['h', 'h2']);
    expect(await broker.history('shop', 'held', { epoch: held.epoch, offset: 1 })).toMatchObject({ recovered: true, offset: 2 });
    expect(await broker.history('shop', 'idle4', { epoch: held.epoch.replace(/\.\d+$/, '.0'), offset: 0 })).toMatchObject({ offset: 1 });
  });
});

describe('token rules', () => {
  it('refuses a token without exp by default, and accepts it with tokens.requireExp false', async () => {
    const strict = await startServer();
    const noExp = await rawToken({ sub: 'u1', app: 'shop' });
    const raw = await Raw.open(strict);
    const r = await raw.request({ t: 'connect', v: 1, app: 'shop', token: noExp });
    expect(r.error).toMatchObject({ code: 'unauthorized' });
    expect(r.error.message).toContain('exp');
    expect((await raw.closed).code).toBe(4100);

    const lax = await startServer({ tokens: { requireExp: false } });
    const ok = await (await Raw.open(lax)).request({ t: 'connect', v: 1, app: 'shop', token: noExp });
    expect(ok.result).toMatchObject({ user: 'u1' });
  });

  it('refuses a token older than tokens.maxAge (and one without iat) as expired', async () => {
    const server = await startServer({ tokens: { maxAge: 60 } });
    const now = Math.floor(Date.now() / 1000);
    const old = await rawToken({ sub: 'u1', app: 'shop', iat: now - 120, exp: now + 3600 });
    const r = await (await Raw.open(server)).request({ t: 'connect', v: 1, app: 'shop', token: old });
    expect(r.error).toMatchObject({ code: 'unauthorized', message: 'token too old (tokens.maxAge)' });
    const noIat = await rawToken({ sub: 'u1', app: 'shop', exp: now + 3600 });
    expect((await (await Raw.open(server)).request({ t: 'connect', v: 1, app: 'shop', token: noIat })).error.code).toBe('unauthorized');
    const fresh = await rawToken({ sub: 'u1', app: 'shop', iat: now, exp: now + 3600 });
    expect((await (await Raw.open(server)).request({ t: 'connect', v: 1, app: 'shop', token: fresh })).result.user).toBe('u1');
  });

  it('refuses a token without an app claim unless tokens.anyApp is set or only one app is allowed', async () => {
    const unscoped = await rawToken({ sub: 'u1', exp: inAnHour() });
    const strict = await createServer({ port: 0, jwtSecret: SECRET, logger: false });
    onCleanup(() => strict.close());
    const raw = await Raw.open(strict);
    const r = await raw.request({ t: 'connect', v: 1, app: 'shop', token: unscoped });
    expect(r.error.code).toBe('forbidden');
    expect(r.error.message).toContain('tokens.anyApp');
    expect((await raw.closed).code).toBe(4101);

    const single = await createServer({ port: 0, jwtSecret: SECRET, logger: false, apps: ['shop'] });
    onCleanup(() => single.close());
    expect((await (await Raw.open(single)).request({ t: 'connect', v: 1, app: 'shop', token: unscoped })).result.user).toBe('u1');
  });

  it('checks audience, issuer and algorithms in JWKS mode, and will not start JWKS mode unscoped', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const jwksHttp = createHttpServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwksHttp.listen(0, '127.0.0.1', r));
    onCleanup(() => new Promise((r) => jwksHttp.close(r)));
    const jwks = `http://127.0.0.1:${(jwksHttp.address() as AddressInfo).port}/jwks.json`;

    await expect(createServer({ port: 0, jwks, logger: false })).rejects.toThrow(/tokens\.audience/);

    const server = await createServer({
      port: 0,
      jwks,
      logger: false,
      tokens: { audience: 'realtime', issuer: 'https://id.example', anyApp: true },
    });
    onCleanup(() => server.close());
    const es = (claims: Record<string, unknown>) =>
      new SignJWT({ sub: 'u1', exp: inAnHour(), ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);
    const attempt = async (token: string) => (await Raw.open(server)).request({ t: 'connect', v: 1, app: 'shop', token });

    expect((await attempt(await es({ aud: 'realtime', iss: 'https://id.example' }))).result.user).toBe('u1');
    expect((await attempt(await es({ aud: 'billing', iss: 'https://id.example' }))).error.message).toContain('aud');
    expect((await attempt(await es({ aud: 'realtime', iss: 'https://evil.example' }))).error.message).toContain('iss');
    // An HS256 token (signed with anything) is not an accepted algorithm in JWKS mode.
    expect((await attempt(await rawToken({ sub: 'u1', aud: 'realtime', iss: 'https://id.example', exp: inAnHour() }))).error.code).toBe(
      'unauthorized',
    );
  });

  it('names bad token options in a TypeError', async () => {
    await expect(createServer({ port: 0, jwtSecret: SECRET, logger: false, tokens: { algorithms: ['none'] } })).rejects.toThrow(
      /tokens\.algorithms/,
    );
    await expect(createServer({ port: 0, jwtSecret: SECRET, logger: false, tokens: { maxAge: -1 } })).rejects.toThrow(/tokens\.maxAge/);
  });
});

describe('connection limits', () => {
  it('closes connections beyond maxConnectionsPerIp and maxConnections with 1013 and counts them', async () => {
    const server = await startServer({ maxConnectionsPerIp: 2 });
    await Raw.connected(server, 'u1');
    await Raw.connected(server, 'u2');
    const third = await Raw.open(server);
    expect((await third.closed).code).toBe(1013);
    expect(third.of('close')[0]).toMatchObject({ code: 1013, reconnect: true });

    const global = await startServer({ maxConnections: 1 });
    await Raw.connected(global, 'u1');
    expect((await (await Raw.open(global)).closed).code).toBe(1013);
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^sdk_realtime_connections_refused_total\{reason="per_ip"\} 1$/m);
  });

  it('frees the per-IP slot when a connection closes', async () => {
    const server = await startServer({ maxConnectionsPerIp: 1 });
    const first = await Raw.connected(server, 'u1');
    first.raw.ws.close();
    await first.raw.closed;
    await waitFor(() => server.stats().connections === 0, 'first connection gone');
    await sleep(20);
    expect((await Raw.connected(server, 'u2')).reply.result.user).toBe('u2');
  });

  it('cuts a peer that never answers the close frame soon after a handshake timeout (not after 30 s)', async () => {
    const server = await startServer({ handshakeTimeout: 100 });
    const socket = tcpConnect(server.port, '127.0.0.1');
    onCleanup(() => socket.destroy());
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    socket.on('data', () => {}); // read everything, answer nothing
    const started = Date.now();
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // handshake timeout + close grace, with slack for a busy machine; ws alone would hold it 30 s.
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('hostile frames', () => {
  it('refuses deeply nested pub data and rpc params with bad_request naming the field, and stays open', async () => {
    const server = await startServer({ canPublish: () => true, methods: { echo: (p) => p } });
    const { raw } = await Raw.connected(server, 'u1');
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    raw.send(`{"t":"pub","id":50,"topic":"t","key":"k1","data":${deep}}`);
    const r = await raw.next((f) => f.t === 'reply' && f.id === 50);
    expect(r.error).toMatchObject({ code: 'bad_request' });
    expect(r.error.message).toContain('"data.0.0');
    raw.send(`{"t":"rpc","id":51,"method":"echo","params":{"a":${deep}}}`);
    expect((await raw.next((f) => f.t === 'reply' && f.id === 51)).error.message).toContain('"params.a');
    expect((await raw.request({ t: 'rpc', method: 'echo', params: { ok: [1, [2]] } })).result).toEqual({ ok: [1, [2]] });
  });

  it('refuses names longer than 256 and idempotency keys longer than 128', async () => {
    const server = await startServer({ canPublish: () => true });
    const { raw } = await Raw.connected(server, 'u1');
    expect((await raw.request({ t: 'sub', topic: 'x'.repeat(257) })).error.code).toBe('bad_request');
    expect((await raw.request({ t: 'pub', topic: 't', key: 'k'.repeat(129), data: 1 })).error.code).toBe('bad_request');
    expect((await raw.request({ t: 'sub', topic: 'x'.repeat(256) })).result).toBeDefined();
    const bad = await Raw.open(server);
    const r = await bad.request({ t: 'connect', v: 1, app: 'a'.repeat(300), token: await sign('u1') });
    expect(r.error.code).toBe('bad_request');
    expect((await bad.closed).code).toBe(4102);
  });

  it('bounds rpc calls running at once and frames waiting behind a slow hook, answering rate_limited', async () => {
    const server = await startServer({
      rateLimit: { frames: 100, per: 100 },
      methods: { hang: () => new Promise(() => {}) },
      canSubscribe: (_ctx, topic) => (topic === 'slow' ? new Promise(() => {}) : true),
    });
    const { raw } = await Raw.connected(server, 'u1');
    for (let i = 0; i < 70; i++) raw.send({ t: 'rpc', id: 1000 + i, method: 'hang' }); // within one burst of 100
    const rpcReplies = () => raw.of('reply').filter((r) => r.id >= 1000 && r.id < 2000);
    await waitFor(() => rpcReplies().length >= 6, 'refused rpc calls');
    await sleep(20);
    expect(rpcReplies().map((r) => r.error?.message)).toEqual(Array(6).fill('at most 64 rpc calls at once'));

    // Frames pile up behind the hanging hook over several rate windows, each within the rate.
    await sleep(150);
    raw.send({ t: 'sub', id: 2000, topic: 'slow' });
    for (let burst = 0; burst < 3; burst++) {
      await sleep(150);
      for (let i = 0; i < 100; i++) raw.send({ t: 'sub', id: 3000 + burst * 100 + i, topic: `t${burst}-${i}` });
    }
    await waitFor(() => raw.frames.some((f) => f.error?.message === 'too many frames waiting'), 'refused queued frames');
    const refused = raw.of('reply').filter((r) => r.error?.message === 'too many frames waiting');
    expect(refused.length).toBe(300 - 256);
    expect(refused[0]!.error).toMatchObject({ code: 'rate_limited', retryAfter: 1000 });
    raw.send({ t: 'ping' });
    await raw.next((f) => f.t === 'pong');
  });
});
