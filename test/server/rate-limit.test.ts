import { describe, expect, it } from 'vitest';
import { KeyedLimiter } from '../../src/server/rate-limit';

describe('KeyedLimiter', () => {
  const make = (maxKeys = 3) => {
    let now = 0;
    let full = 0;
    const l = new KeyedLimiter({ requests: 2, per: 1000 }, maxKeys, () => full++, () => now);
    return { l, tick: (ms: number) => (now += ms), full: () => full };
  };

  it('allows `requests` per key per window and says how long to wait', () => {
    const { l, tick } = make();
    expect(l.take('a')).toBe(0);
    expect(l.take('a')).toBe(0);
    expect(l.take('a')).toBe(500);
    expect(l.take('b')).toBe(0);
    tick(500);
    expect(l.peek('a')).toBe(0);
    expect(l.take('a')).toBe(0);
  });

  it('holds at most maxKeys, forgetting the least recently used, and reports it once', () => {
    const { l, full } = make(3);
    l.take('a');
    l.take('a');
    l.take('b');
    l.take('c');
    l.take('a'); // a is now the most recently used: b goes first
    l.take('d');
    expect(l.size).toBe(3);
    expect(l.evicted).toBe(1);
    expect(l.peek('a')).toBeGreaterThan(0); // a kept its spent bucket
    for (let i = 0; i < 100; i++) l.take(`k${i}`);
    expect(l.size).toBe(3);
    expect(l.evicted).toBe(101);
    expect(full()).toBe(1);
  });
});
