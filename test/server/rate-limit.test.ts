import { describe, expect, it } from 'vitest';
import { KeyedLimiter } from '../../server/src/rate-limit';

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

  it('peek neither adds a key nor refreshes its recency', () => {
    const { l } = make(2);
    expect(l.peek('ghost')).toBe(0);
    expect(l.size).toBe(0);
    l.take('a');
    l.take('a');
    l.take('a'); // a is spent
    l.take('b');
    expect(l.peek('a')).toBeGreaterThan(0); // not a use: a is still the least recently used
    l.take('c');
    expect(l.evicted).toBe(1);
    expect(l.peek('a')).toBe(0); // a was the one forgotten
    expect(l.peek('b')).toBe(0);
    expect(l.size).toBe(2);
  });

  it('a forgotten key comes back with a full bucket; a kept one refills with time', () => {
    const { l, tick } = make(1);
    expect(l.take('a')).toBe(0);
    expect(l.take('a')).toBe(0);
    expect(l.take('a')).toBe(500);
    expect(l.take('b')).toBe(0); // evicts a
    expect(l.take('a')).toBe(0); // evicts b; a starts over
    expect(l.take('a')).toBe(0);
    expect(l.take('a')).toBe(500);
    tick(250);
    expect(l.take('a')).toBe(250);
    tick(250);
    expect(l.take('a')).toBe(0);
    expect(l.size).toBe(1);
  });

  it('stays at maxKeys under a flood of fresh keys (10,000 default)', () => {
    let full = 0;
    const l = new KeyedLimiter({ requests: 1, per: 60_000 }, undefined, () => full++);
    for (let i = 0; i < 25_000; i++) expect(l.take(`k${i}`)).toBe(0);
    expect(l.size).toBe(10_000);
    expect(l.evicted).toBe(15_000);
    expect(full).toBe(1);
    expect(l.take('k24999')).toBeGreaterThan(0); // the most recent keys are the ones kept
  });
});
