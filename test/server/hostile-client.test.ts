import { generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../server/src/brokers/memory';
import { Raw, SECRET, cleanup, sign, sleep, startServer, waitFor } from './helpers';

afterEach(cleanup);

/** Streams the memory broker holds, per app (white-box: the map is private). */
const held = (broker: MemoryBroker): number[] =>
  [...(broker as unknown as { apps: Map<string, { streams: Map<string, unknown> }> }).apps.values()].map((a) => a.streams.size);

describe('a hostile client against the WebSocket server', () => {
  it('holds nothing for fresh topics subscribed and left in a loop (no wait for the sweep)', async () => {
    const broker = new MemoryBroker({ history: { size: 10, ttl: 600_000 } });
    const server = await startServer({ broker, rateLimit: { frames: 10_000, per: 1000 } });
    const { raw } = await Raw.connected(server, 'alice');
    const before = held(broker);
    const n = 500;
    for (let i = 0; i < n; i++) {
      raw.send({ t: 'sub', id: 1000 + 2 * i, topic: `churn-${i}` });
      raw.send({ t: 'unsub', id: 1001 + 2 * i, topic: `churn-${i}` });
    }
    await raw.next((f) => f.t === 'reply' && f.id === 1000 + 2 * n - 1, 10_000);
    expect(raw.frames.filter((f) => f.t === 'reply' && f.error)).toEqual([]);
    // Only the personal stream user:alice is left.
    expect(held(broker)).toEqual(before);
    // A topic with history keeps it (and its epoch) after its last subscriber leaves.
    await server.publish('shop', { eventTopics: ['kept'], data: 1 });
    const sub = await raw.request({ t: 'sub', topic: 'kept' });
    await raw.request({ t: 'unsub', topic: 'kept' });
    const again = await raw.request({ t: 'sub', topic: 'kept', since: { epoch: sub.result.epoch, offset: 0 } });
    expect(again.result).toMatchObject({ epoch: sub.result.epoch, offset: 1, recovered: true });
    expect(again.result.pubs).toHaveLength(1);
  });

  it('a subscriber that left a never-published topic and came back still recovers from offset 0', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'alice');
    const first = await raw.request({ t: 'sub', topic: 'later' });
    await raw.request({ t: 'unsub', topic: 'later' });
    await server.publish('shop', { eventTopics: ['later'], data: 'x' });
    const back = await raw.request({ t: 'sub', topic: 'later', since: { epoch: first.result.epoch, offset: 0 } });
    expect(back.result).toMatchObject({ epoch: first.result.epoch, offset: 1, recovered: true });
  });

  it('closes with 1011 (reconnect) a connect that failed on the server, instead of leaving it half-open', async () => {
    const server = await startServer({
      deviceOf: () => {
        throw new Error('device lookup failed');
      },
    });
    const raw = await Raw.open(server);
    const reply = await raw.request({ t: 'connect', v: 1, app: 'shop', token: await sign('alice'), device: 'd1' });
    expect(reply.error).toMatchObject({ code: 'internal' });
    expect(await raw.next((f) => f.t === 'close')).toMatchObject({ code: 1011, reconnect: true });
    expect((await raw.closed).code).toBe(1011);
    expect(server.stats().connections).toBe(0);
  });

  it('closes with 4000 a connect whose hook never answers, at handshakeTimeout', async () => {
    const server = await startServer({ handshakeTimeout: 300, deviceOf: () => new Promise<string | null>(() => {}) });
    const raw = await Raw.open(server);
    raw.send({ t: 'connect', id: 1, v: 1, app: 'shop', token: await sign('alice'), device: 'd1' });
    const closed = await Promise.race([raw.closed, sleep(5000).then(() => ({ code: -1, reason: 'still open after 5 s' }))]);
    expect(closed.code).toBe(4000);
  });

  it('keeps the handshake timer off once connect succeeded', async () => {
    const server = await startServer({ handshakeTimeout: 300 });
    const { raw } = await Raw.connected(server, 'alice');
    await sleep(600);
    expect((await raw.request({ t: 'sub', topic: 'still-here' })).result).toMatchObject({ recovered: true });
  });

  it('cuts a client that floods WebSocket pings without reading the pongs', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'alice');
    (raw.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = Buffer.alloc(125, 1);
    let gone = false;
    void raw.closed.then(() => (gone = true));
    for (let i = 0; i < 100_000 && !gone; i++) {
      raw.ws.ping(payload);
      if (i % 500 === 0) await sleep(1);
    }
    await waitFor(() => gone, 'the server to cut the ping flood', 10_000);
    await waitFor(() => server.stats().connections === 0, 'the connection to be released', 5000);
  });
});

/** The close code and connect reply error of a `connect` with `token`. */
async function tryConnect(server: { url: string }, token: string): Promise<{ code: number; error: string | undefined }> {
  const raw = await Raw.open(server);
  const reply = await raw.request({ t: 'connect', v: 1, app: 'shop', token }, 5000);
  return { code: (await raw.closed).code, error: reply.error?.code };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

describe('hostile tokens at connect', () => {
  it('refuses alg none, another HMAC, RS256, expired, not-yet-valid and huge tokens with 4100', async () => {
    const server = await startServer();
    const { privateKey } = await generateKeyPair('RS256');
    const claims = { sub: 'mallory', exp: now() + 3600 };
    const tokens: Record<string, string> = {
      none: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
      hs512: await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).sign(key),
      rs256: await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(privateKey),
      expired: await new SignJWT({ sub: 'mallory', exp: now() - 60 }).setProtectedHeader({ alg: 'HS256' }).sign(key),
      notBefore: await new SignJWT({ ...claims, nbf: now() + 600 }).setProtectedHeader({ alg: 'HS256' }).sign(key),
      huge: await new SignJWT({ ...claims, pad: 'x'.repeat(500_000) }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('another secret')),
      garbage: 'a.b.c',
    };
    for (const [name, token] of Object.entries(tokens)) {
      expect(await tryConnect(server, token), name).toEqual({ code: 4100, error: 'unauthorized' });
    }
    expect(server.stats().connections).toBe(0);
  });
});

describe('idempotency keys of client publishes', () => {
  it('are the sender\'s own: the same key from another app or another user is another publish', async () => {
    const server = await startServer({ canPublish: () => true });
    const publisher = async (user: string, app: string) => (await Raw.connected(server, user, { app })).raw;
    const [aliceShop, aliceBlog, bobShop] = await Promise.all([publisher('alice', 'shop'), publisher('alice', 'blog'), publisher('bob', 'shop')]);
    const pub = (r: Raw) => r.request({ t: 'pub', topic: 'room', key: 'k1', data: { n: 1 } });
    const first = await pub(aliceShop);
    const again = await pub(aliceShop);
    const otherApp = await pub(aliceBlog);
    const otherUser = await pub(bobShop);
    expect(again.result).toEqual(first.result);
    expect(otherApp.result.id).not.toBe(first.result.id);
    expect(otherUser.result.id).not.toBe(first.result.id);
    expect(otherUser.result.offset).toBe(2);
    // Another body under the same key is refused, naming the key.
    const conflict = await aliceShop.request({ t: 'pub', topic: 'room', key: 'k1', data: { n: 2 } });
    expect(conflict.error).toMatchObject({ code: 'bad_request' });
    expect(conflict.error.message).toContain('key');
  });
});

describe('history replays are bounded per reply', () => {
  it('answers recovered: false instead of a replay larger than maxBufferedBytes, and replays what fits', async () => {
    const server = await startServer({ maxFrameBytes: 64 * 1024, maxBufferedBytes: 256 * 1024 });
    const { raw } = await Raw.connected(server, 'alice');
    const head = await raw.request({ t: 'sub', topic: 'big' });
    await raw.request({ t: 'unsub', topic: 'big' });
    const chunk = 'x'.repeat(40 * 1024);
    // 10 × 40 KiB: 400 KiB of history, more than the 256 KiB one reply may carry.
    for (let i = 0; i < 10; i++) await server.publish('shop', { eventTopics: ['big'], data: chunk });
    await server.publish('shop', { eventTopics: ['small'], data: 'tiny' });
    const since = { epoch: head.result.epoch, offset: 0 };
    const reply = await raw.request({ t: 'subs', subs: [{ topic: 'big', since }, { topic: 'small', since }] });
    expect(reply.result.results.big).toEqual({ epoch: head.result.epoch, offset: 10, recovered: false, pubs: [] });
    expect(reply.result.results.small).toMatchObject({ offset: 1, recovered: true });
    expect(reply.result.results.small.pubs).toHaveLength(1);
    // From a recent position the rest fits: replayed in full.
    await raw.request({ t: 'unsub', topic: 'big' });
    const recent = await raw.request({ t: 'sub', topic: 'big', since: { epoch: head.result.epoch, offset: 7 } });
    expect(recent.result).toMatchObject({ offset: 10, recovered: true });
    expect(recent.result.pubs.map((p: { offset: number }) => p.offset)).toEqual([8, 9, 10]);
    // Live messages still flow on the stream that was not replayed.
    await server.publish('shop', { eventTopics: ['big'], data: 'after' });
    expect(await raw.next((f) => f.t === 'msg' && f.topic === 'big' && f.data === 'after')).toMatchObject({ offset: 11 });
  });
});

describe('names with control characters', () => {
  it('never mix two apps in presence, whatever characters app and topic names hold', async () => {
    const server = await startServer({ presenceInterval: 20 });
    const { raw: watcher } = await Raw.connected(server, 'alice', { app: 'shop' });
    const watched = await watcher.request({ t: 'watch', topic: 'x\u0000y' });
    expect(watched.result).toEqual({ users: 0, connections: 0 });
    const { raw: other } = await Raw.connected(server, 'mallory', { app: 'shop\u0000x' });
    expect((await other.request({ t: 'sub', topic: 'y' })).result).toMatchObject({ recovered: true });
    const { raw: same } = await Raw.connected(server, 'bob', { app: 'shop' });
    await same.request({ t: 'sub', topic: 'x\u0000y' });
    // Only bob (app shop) counts: the one count pushed says 1 user.
    const count = await watcher.next((f) => f.t === 'count');
    expect(count).toMatchObject({ topic: 'x\u0000y', users: 1, connections: 1 });
    await sleep(200);
    expect(watcher.of('count').map((f) => f.users)).toEqual([1]);
  });
});
