import { describe, expect, it } from 'vitest';
import { Emitter } from '../../src/util/emitter';

type Events = { a: number; b: string };

describe('Emitter', () => {
  it('on returns an idempotent unsubscribe function', () => {
    const em = new Emitter<Events>(() => {});
    const got: number[] = [];
    const off = em.on('a', (n) => got.push(n));
    em.emit_('a', 1);
    off();
    off();
    em.emit_('a', 2);
    expect(got).toEqual([1]);
  });

  it('a throwing listener goes to onThrow and the other listeners still run', () => {
    const thrown: unknown[] = [];
    const em = new Emitter<Events>((e, type) => thrown.push([type, (e as Error).message]));
    const got: string[] = [];
    em.on('b', () => {
      throw new Error('boom');
    });
    em.on('b', (s) => got.push(s));
    expect(() => em.emit_('b', 'x')).not.toThrow();
    expect(got).toEqual(['x']);
    expect(thrown).toEqual([['b', 'boom']]);
  });

  it('the same function added twice is two listeners, each removable', () => {
    const em = new Emitter<Events>(() => {});
    let n = 0;
    const fn = () => n++;
    const off1 = em.on('a', fn);
    em.on('a', fn);
    off1();
    em.emit_('a', 0);
    expect(n).toBe(1);
  });
});

describe('Emitter, listeners changing during an emit', () => {
  it('a listener added or removed while emitting does not change that round', () => {
    const em = new Emitter<Events>(() => {});
    const got: string[] = [];
    let offB: () => void = () => {};
    em.on('a', () => {
      got.push('first');
      em.on('a', () => got.push('added'));
      offB();
    });
    offB = em.on('a', () => got.push('second'));
    em.emit_('a', 1);
    expect(got).toEqual(['first', 'second']);
    got.length = 0;
    em.emit_('a', 2);
    expect(got).toEqual(['first', 'added']);
  });
});
