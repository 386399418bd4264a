import { describe, expect, it } from 'vitest';
import { createEmitter } from '../../src/util/emitter';

type Events = { a: number; b: string };

describe('createEmitter', () => {
  it('on returns an idempotent unsubscribe function', () => {
    const em = createEmitter<Events>(() => {});
    const got: number[] = [];
    const off = em.on('a', (n) => got.push(n));
    em.emit('a', 1);
    off();
    off();
    em.emit('a', 2);
    expect(got).toEqual([1]);
  });

  it('a throwing listener goes to onThrow and the other listeners still run', () => {
    const thrown: unknown[] = [];
    const em = createEmitter<Events>((e, type) => thrown.push([type, (e as Error).message]));
    const got: string[] = [];
    em.on('b', () => {
      throw new Error('boom');
    });
    em.on('b', (s) => got.push(s));
    expect(() => em.emit('b', 'x')).not.toThrow();
    expect(got).toEqual(['x']);
    expect(thrown).toEqual([['b', 'boom']]);
  });

  it('the same function added twice is two listeners, each removable', () => {
    const em = createEmitter<Events>(() => {});
    let n = 0;
    const fn = () => n++;
    const off1 = em.on('a', fn);
    em.on('a', fn);
    off1();
    em.emit('a', 0);
    expect(n).toBe(1);
  });
});
