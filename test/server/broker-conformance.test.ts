import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../server/src/brokers/memory';
import { RedisBroker } from '../../server/src/brokers/redis';
import type { Broker, Delivery, StreamOffset, Subscriber } from '../../server/src/brokers/types';
import type { HistoryLimits } from '../../server/src/history';
import { startProxy } from '../support/proxy';
import { redisForFile, startRedis } from '../support/redis';

/** A subscriber that records what it receives. */
function recorder(): Subscriber & { got: Array<{ id: string; data: unknown; matched: StreamOffset[] }> } {
  const got: Array<{ id: string; data: unknown; matched: StreamOffset[] }> = [];
  return { got, deliver: (d: Delivery, matched: StreamOffset[]) => void got.push({ id: d.id, data: d.data, matched }) };
}

/** Wait until `check` passes (deliveries through Redis pub/sub arrive after publish resolves). */
async function eventually(check: () => void, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const LIMITS: HistoryLimits = { size: 100, ttl: 60_000 };

const redis = redisForFile();

const brokers: Broker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

let prefixes = 0;
const kinds: Array<[string, (limits?: Partial<HistoryLimits>) => Broker]> = [
  ['MemoryBroker', (limits) => new MemoryBroker({ history: { ...LIMITS, streams: 1000, ...limits } })],
  // Each test gets its own key prefix: one Redis, no state shared between tests.
  ['RedisBroker', (limits) => new RedisBroker({ url: redis().url, prefix: `t${++prefixes}`, history: { ...LIMITS, ...limits } })],
];

describe.each(kinds)('Broker contract: %s', (_name, make) => {
  const broker = (limits?: Partial<HistoryLimits>) => {
    const b = make(limits);
    brokers.push(b);
    return b;
  };

  it('numbers each stream from 1 and reports the top; a read without a position is recovered with nothing to replay', async () => {
    const b = broker();
    const first = await b.publish('a', ['t'], { n: 1 });
    const second = await b.publish('a', ['t'], { n: 2 });
    expect(first.streams).toEqual({ t: 1 });
    expect(second.positions).toEqual([{ stream: 't', epoch: first.positions[0]!.epoch, offset: 2 }]);
    expect(await b.history('a', 't')).toEqual({ epoch: first.positions[0]!.epoch, offset: 2, recovered: true, pubs: [] });
  });

  it('is live once subscribe resolves, and delivers a multi-stream message once per subscriber with its matched streams', async () => {
    const b = broker();
    const both = recorder();
    const topicOnly = recorder();
    await b.subscribe('a', 'user:u', both);
    await b.subscribe('a', 'order:1', both);
    await b.subscribe('a', 'order:1', topicOnly);
    const out = await b.publish('a', ['order:1', 'user:u', 'order:1'], { status: 'paid' });
    expect(Object.keys(out.streams)).toEqual(['order:1', 'user:u']);
    await eventually(() => expect(both.got).toHaveLength(1));
    await eventually(() => expect(topicOnly.got).toHaveLength(1));
    expect(both.got[0]!.matched.map((m) => m.stream)).toEqual(['order:1', 'user:u']);
    expect(topicOnly.got[0]!.matched.map((m) => m.stream)).toEqual(['order:1']);
    expect(both.got[0]).toMatchObject({ id: out.id, data: { status: 'paid' } });
  });

  it('replays everything after a position in the same epoch, in order', async () => {
    const b = broker();
    const p = await b.publish('a', ['t'], 1);
    await b.publish('a', ['t'], 2);
    await b.publish('a', ['t'], 3);
    const epoch = p.positions[0]!.epoch;
    const r = await b.history('a', 't', { epoch, offset: 1 });
    expect(r).toMatchObject({ epoch, offset: 3, recovered: true });
    expect(r.pubs.map((x) => [x.offset, x.data, x.topic, x.epoch])).toEqual([
      [2, 2, 't', epoch],
      [3, 3, 't', epoch],
    ]);
    expect(await b.history('a', 't', { epoch, offset: 3 })).toMatchObject({ recovered: true, pubs: [] });
  });

  it('never replays partially: another epoch, a position past the top, a trimmed range or one over maxReplay give recovered: false and no messages', async () => {
    const b = broker({ size: 3, maxReplay: 2 });
    let epoch = '';
    for (let i = 1; i <= 5; i++) epoch = (await b.publish('a', ['t'], i)).positions[0]!.epoch;
    expect(await b.history('a', 't', { epoch: 'other', offset: 4 })).toEqual({ epoch, offset: 5, recovered: false, pubs: [] });
    expect(await b.history('a', 't', { epoch, offset: 9 })).toEqual({ epoch, offset: 5, recovered: false, pubs: [] });
    // Offsets 2..5 missed, history holds 3..5: trimmed.
    expect(await b.history('a', 't', { epoch, offset: 1 })).toEqual({ epoch, offset: 5, recovered: false, pubs: [] });
    // 3 missed, all held, but more than maxReplay (2).
    expect(await b.history('a', 't', { epoch, offset: 2 })).toEqual({ epoch, offset: 5, recovered: false, pubs: [] });
    expect((await b.history('a', 't', { epoch, offset: 3 })).pubs.map((x) => x.offset)).toEqual([4, 5]);
  });

  it('does not replay messages older than history.ttl', async () => {
    const b = broker({ ttl: 150 });
    // A subscriber keeps the stream known (the memory broker forgets idle, empty streams).
    await b.subscribe('a', 't', recorder());
    const epoch = (await b.publish('a', ['t'], 1)).positions[0]!.epoch;
    await new Promise((r) => setTimeout(r, 250));
    await b.publish('a', ['t'], 2);
    expect(await b.history('a', 't', { epoch, offset: 0 })).toMatchObject({ recovered: false, pubs: [] });
    expect((await b.history('a', 't', { epoch, offset: 1 })).pubs.map((x) => x.data)).toEqual([2]);
  });

  it('gives a subscriber that came before the first publish the epoch that publish uses', async () => {
    const b = broker();
    const before = await b.history('a', 'new-topic', { epoch: 'none', offset: 0 });
    expect(before).toMatchObject({ offset: 0, recovered: false, pubs: [] });
    const p = await b.publish('a', ['new-topic'], 'x');
    expect(p.positions[0]!.epoch).toBe(before.epoch);
    const r = await b.history('a', 'new-topic', { epoch: before.epoch, offset: 0 });
    expect(r).toMatchObject({ recovered: true });
    expect(r.pubs.map((x) => x.data)).toEqual(['x']);
  });

  it('keeps apps apart, whatever characters their names hold', async () => {
    const b = broker();
    const inA = recorder();
    const inAB = recorder();
    await b.subscribe('a', 'b:c', inA);
    await b.subscribe('a:b', 'c', inAB);
    await b.publish('a:b', ['c'], 'for a:b');
    await b.publish('a', ['b:c'], 'for a');
    await b.publish('a', ['b:c'], 'for a again');
    await eventually(() => expect(inA.got.map((g) => g.data)).toEqual(['for a', 'for a again']));
    await eventually(() => expect(inAB.got.map((g) => g.data)).toEqual(['for a:b']));
    expect((await b.history('a:b', 'c')).offset).toBe(1);
    expect((await b.history('a', 'b:c')).offset).toBe(2);
    expect((await b.history('a{x}', 'c')).offset).toBe(0);
  });

  it('applies a keyed publish once: a repeat answers the first outcome and delivers nothing; another fingerprint is a conflict', async () => {
    const b = broker();
    const r = recorder();
    await b.subscribe('a', 't', r);
    await b.history('a', 't');
    const first = await b.publish('a', ['t', 'user:u'], { n: 1 }, { key: 'k1', fingerprint: 'f1' });
    const again = await b.publish('a', ['t', 'user:u'], { n: 1 }, { key: 'k1', fingerprint: 'f1' });
    expect(again.id).toBe(first.id);
    expect(again.positions).toEqual(first.positions);
    await expect(b.publish('a', ['t'], { n: 2 }, { key: 'k1', fingerprint: 'other' })).rejects.toMatchObject({ name: 'IdempotencyConflictError' });
    // The same key in another app is another key.
    expect((await b.publish('b', ['t'], { n: 1 }, { key: 'k1', fingerprint: 'f1' })).streams).toEqual({ t: 1 });
    await b.publish('a', ['t'], 'marker');
    await eventually(() => expect(r.got.map((g) => g.data)).toEqual([{ n: 1 }, 'marker']));
    expect((await b.history('a', 't')).offset).toBe(2);
  });

  it('keeps each app\'s idempotency keys apart: another app\'s flood of keys never drops them', async () => {
    const b = broker();
    const first = await b.publish('a', ['t'], 'once', { key: 'keep', fingerprint: 'f' });
    for (let i = 0; i < 10_050; i++) await b.publish('flood', ['t'], i, { key: `k${i}`, fingerprint: 'f' });
    const again = await b.publish('a', ['t'], 'once', { key: 'keep', fingerprint: 'f' });
    expect(again.id).toBe(first.id);
    expect((await b.history('a', 't')).offset).toBe(1);
  }, 60_000);

  it('stops delivering after unsubscribe (idempotent)', async () => {
    const b = broker();
    const r = recorder();
    const marker = recorder();
    await b.subscribe('a', 't', r);
    await b.subscribe('a', 't', marker);
    await b.publish('a', ['t'], 1);
    await eventually(() => expect(r.got).toHaveLength(1));
    b.unsubscribe('a', 't', r);
    b.unsubscribe('a', 't', r);
    await b.publish('a', ['t'], 2);
    // The marker got the second message, so the unsubscribed one would have by now.
    await eventually(() => expect(marker.got).toHaveLength(2));
    expect(r.got).toHaveLength(1);
  });
});

describe('RedisBroker across nodes', () => {
  const node = (prefix: string, limits?: Partial<HistoryLimits>) => {
    const b = new RedisBroker({ url: redis().url, prefix, history: { ...LIMITS, ...limits } });
    brokers.push(b);
    return b;
  };

  it('delivers a publish on one node to subscribers on another, once per subscriber, in offset order', async () => {
    const a = node('x1');
    const b = node('x1');
    const onB = recorder();
    await b.subscribe('app', 'user:u', onB);
    await b.subscribe('app', 'room', onB);
    await b.history('app', 'user:u');
    await b.history('app', 'room');
    for (let i = 1; i <= 20; i++) await (i % 2 ? a : b).publish('app', ['room', 'user:u'], i);
    await eventually(() => expect(onB.got).toHaveLength(20));
    expect(onB.got.map((g) => g.data)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(onB.got.map((g) => g.matched[0]!.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('keeps each stream in offset order when two nodes publish at once', async () => {
    // History holds the whole burst, so every overtaken message can be read back.
    const a = node('x2', { size: 1000 });
    const b = node('x2', { size: 1000 });
    const c = node('x2', { size: 1000 });
    const onC = recorder();
    // As a connection does: subscribe (live), then read the position to start from.
    await c.subscribe('app', 'room', onC);
    await c.history('app', 'room');
    await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).publish('app', ['room'], i)));
    await eventually(() => expect(onC.got).toHaveLength(200));
    expect(onC.got.map((g) => g.matched[0]!.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('applies a keyed publish sent to two nodes at once exactly once', async () => {
    const a = node('x5');
    const b = node('x5');
    const onB = recorder();
    await b.subscribe('app', 'room', onB);
    await b.history('app', 'room');
    const [one, two] = await Promise.all([
      a.publish('app', ['room'], 'once', { key: 'same', fingerprint: 'f' }),
      b.publish('app', ['room'], 'once', { key: 'same', fingerprint: 'f' }),
    ]);
    expect(two.positions).toEqual(one.positions);
    await a.publish('app', ['room'], 'marker');
    await eventually(() => expect(onB.got.map((g) => g.data)).toEqual(['once', 'marker']));
    expect((await a.history('app', 'room')).offset).toBe(2);
  });

  it('shares a rate limit across nodes: requests per period in all, then the wait until the next', async () => {
    const a = node('x6');
    const b = node('x6');
    const limit = { requests: 3, per: 60_000 };
    const waits = [await a.rateLimit('app', 'notify', limit), await b.rateLimit('app', 'notify', limit), await a.rateLimit('app', 'notify', limit)];
    expect(waits).toEqual([0, 0, 0]);
    const fourth = await b.rateLimit('app', 'notify', limit);
    expect(fourth).toBeGreaterThan(15_000);
    expect(fourth).toBeLessThanOrEqual(20_000);
    // Per app: another app has its own budget.
    expect(await b.rateLimit('other', 'notify', limit)).toBe(0);
  });

  it('reads back a lost pub/sub message that no later message reveals, at the next position check', async () => {
    const a = node('x7');
    const b = new RedisBroker({ url: redis().url, prefix: 'x7', history: LIMITS, positionCheck: 200 });
    brokers.push(b);
    const onB = recorder();
    await b.subscribe('app', 'room', onB);
    await b.history('app', 'room');
    // The message reaches history, but its PUBLISH is lost on the way.
    const cmd = (a as unknown as { cmd: { publish: (...args: unknown[]) => Promise<number> } }).cmd;
    const publish = cmd.publish.bind(cmd);
    cmd.publish = async () => 0;
    await a.publish('app', ['room'], 'lost on the wire');
    cmd.publish = publish;
    await eventually(() => expect(onB.got.map((g) => g.data)).toEqual(['lost on the wire']), 3000);
    expect(b.stats.gapsFilled).toBe(1);
  });

  it('reconnects a pub/sub connection that stays up but receives nothing (probe), and reads back what it missed', async () => {
    // b's pub/sub connection goes through a proxy that then stops passing what Redis sends on it:
    // the TCP connection stays open, nothing arrives (what a stale link after a failover looks
    // like); a new connection through the proxy works.
    const proxy = await startProxy(redis().port);
    const a = node('x8');
    const b = new RedisBroker({ url: redis().url, subscriberUrl: `redis://127.0.0.1:${proxy.port}`, prefix: 'x8', history: LIMITS, probeInterval: 300 });
    brokers.push(b);
    try {
      const onB = recorder();
      await b.subscribe('app', 'room', onB);
      await b.history('app', 'room');
      await a.publish('app', ['room'], 'before');
      await eventually(() => expect(onB.got).toHaveLength(1));
      proxy.stall();
      for (let i = 1; i <= 3; i++) await a.publish('app', ['room'], `stale ${i}`);
      await eventually(() => expect(onB.got.map((g) => g.data)).toEqual(['before', 'stale 1', 'stale 2', 'stale 3']), 10_000);
      expect(b.stats.probeFailures).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.close();
    }
  });

  it('fills from history what it missed while its pub/sub connection was down', async () => {
    const a = node('x3');
    const b = node('x3');
    const onB = recorder();
    await b.subscribe('app', 'room', onB);
    await b.history('app', 'room');
    await a.publish('app', ['room'], 'before');
    await eventually(() => expect(onB.got).toHaveLength(1));
    // Cut every pub/sub connection (b's subscriber); publish while it reconnects.
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis().url);
    try {
      await admin.client('KILL', 'TYPE', 'pubsub');
      for (let i = 1; i <= 5; i++) await a.publish('app', ['room'], `during ${i}`);
    } finally {
      admin.disconnect();
    }
    await a.publish('app', ['room'], 'after');
    await eventually(() => expect(onB.got.map((g) => g.data)).toEqual(['before', 'during 1', 'during 2', 'during 3', 'during 4', 'during 5', 'after']), 8000);
  });

  it('fails fast with BrokerUnavailableError while Redis is down, and works again when it returns; a restart changes the epoch', async () => {
    const own = await startRedis({ persist: true });
    try {
      const b = new RedisBroker({ url: own.url, prefix: 'x4', history: LIMITS, redis: { retryStrategy: () => 50 } });
      brokers.push(b);
      const first = await b.publish('app', ['t'], 1);
      const position = first.positions[0]!;
      // Persisted and reloaded under a new run id: same stored epoch, new generation.
      const { Redis } = await import('ioredis');
      const admin = new Redis(own.url);
      await admin.save();
      admin.disconnect();
      await own.kill();
      const down = Date.now();
      await expect(b.publish('app', ['t'], 2)).rejects.toMatchObject({ name: 'BrokerUnavailableError', code: 'unavailable' });
      await expect(b.history('app', 't', position)).rejects.toMatchObject({ name: 'BrokerUnavailableError' });
      expect(Date.now() - down).toBeLessThan(5000);
      await own.start();
      let again: Awaited<ReturnType<RedisBroker['publish']>> | undefined;
      const until = Date.now() + 8000;
      while (!again) {
        again = await b.publish('app', ['t'], 2).catch(() => undefined);
        if (!again) {
          if (Date.now() > until) throw new Error('broker did not recover');
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      expect(again.positions[0]!.offset).toBe(2);
      expect(again.positions[0]!.epoch).not.toBe(position.epoch);
      // The client's old position is from another generation: not recovered, nothing replayed.
      expect(await b.history('app', 't', position)).toMatchObject({ recovered: false, pubs: [] });
    } finally {
      await own.stop();
    }
  });
});

describe('redisBroker options', () => {
  it('refuses bad options with a TypeError naming the option', () => {
    const history = LIMITS;
    expect(() => new RedisBroker({ url: 'http://x', history })).toThrow(/option "url"/);
    expect(() => new RedisBroker({ url: redis().url, prefix: 'a{b}', history })).toThrow(/option "prefix"/);
    expect(() => new RedisBroker({ url: redis().url, presenceTtl: 10, history })).toThrow(/option "presenceTtl"/);
  });
});
