import { describe, expect, it } from 'vitest';
import { IdempotencyCache } from '../../server/src/idempotency';
import { StreamHistory } from '../../server/src/history';
import { TokenBucket } from '../../server/src/rate-limit';

describe('StreamHistory', () => {
  const make = (size = 3, ttl = 1000) => {
    let now = 0;
    const h = new StreamHistory('s', { size, ttl }, () => now);
    return { h, tick: (ms: number) => (now += ms) };
  };

  it('numbers messages from 1 and replays what followed a position', () => {
    const { h } = make();
    expect(h.append('a', 0, 'A')).toBe(1);
    expect(h.append('b', 0, 'B')).toBe(2);
    const r = h.since({ epoch: h.epoch, offset: 1 });
    expect(r).toMatchObject({ epoch: h.epoch, offset: 2, recovered: true });
    expect(r.pubs).toEqual([{ topic: 's', id: 'b', offset: 2, epoch: h.epoch, ts: 0, data: 'B' }]);
  });

  it('answers no position with nothing to replay, recovered', () => {
    const { h } = make();
    h.append('a', 0, 1);
    expect(h.since()).toEqual({ epoch: h.epoch, offset: 1, recovered: true, pubs: [] });
  });

  it('reports a gap after trimming by count or age', () => {
    const { h, tick } = make(2, 100);
    for (const id of ['a', 'b', 'c']) h.append(id, 0, id);
    expect(h.since({ epoch: h.epoch, offset: 0 })).toMatchObject({ recovered: false });
    expect(h.since({ epoch: h.epoch, offset: 1 })).toMatchObject({ recovered: true });
    tick(150);
    expect(h.since({ epoch: h.epoch, offset: 2 })).toMatchObject({ recovered: false, pubs: [] });
    expect(h.since({ epoch: h.epoch, offset: 3 })).toMatchObject({ recovered: true, pubs: [] });
  });

  it('gives nothing, not recovered, for another epoch, a position beyond the end, or more than maxReplay', () => {
    const { h } = make();
    h.append('a', 0, 1);
    h.append('b', 0, 2);
    expect(h.since({ epoch: 'other', offset: 1 })).toMatchObject({ recovered: false, pubs: [] });
    expect(h.since({ epoch: h.epoch, offset: 9 })).toMatchObject({ recovered: false, pubs: [] });
    expect(h.since({ epoch: h.epoch, offset: 0 }, 1)).toMatchObject({ recovered: false, pubs: [] });
    expect(h.since({ epoch: h.epoch, offset: 0 }, 2).pubs).toHaveLength(2);
  });

  it('uses a fresh random epoch per history', () => {
    expect(make().h.epoch).not.toBe(make().h.epoch);
  });
});

describe('IdempotencyCache', () => {
  it('runs once per key within the ttl and is bounded by count', async () => {
    let now = 0;
    const cache = new IdempotencyCache<number>(2, 1000, () => now);
    let runs = 0;
    const run = () => Promise.resolve(++runs);
    expect(await cache.run('a', run)).toBe(1);
    expect(await cache.run('a', run)).toBe(1);
    await cache.run('b', run);
    await cache.run('c', run); // evicts 'a'
    expect(cache.size).toBe(2);
    expect(await cache.run('a', run)).toBe(4);
    now += 1000;
    expect(await cache.run('a', run)).toBe(5);
  });

  it('forgets a failed run so a retry is applied', async () => {
    const cache = new IdempotencyCache<number>();
    await expect(cache.run('k', () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await Promise.resolve();
    expect(await cache.run('k', () => Promise.resolve(7))).toBe(7);
  });
});

describe('TokenBucket', () => {
  it('allows capacity actions, then refills over time', () => {
    let now = 0;
    const b = new TokenBucket(2, 1000, () => now);
    expect([b.take(), b.take(), b.take()]).toEqual([true, true, false]);
    expect(b.retryAfter()).toBe(500);
    now += 500;
    expect(b.take()).toBe(true);
  });
});
