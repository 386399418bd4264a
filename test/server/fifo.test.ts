import { describe, expect, it } from 'vitest';
import { Fifo } from '../../server/src/brokers/fifo';

describe('Fifo', () => {
  it('keeps order across compactions and reports its length', () => {
    const q = new Fifo<number>();
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3000; i++) q.push(next++);
      for (let i = 0; i < 2500; i++) out.push(q.shift()!);
    }
    expect(q.length).toBe(next - out.length);
    while (q.length) out.push(q.shift()!);
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(q.shift()).toBeUndefined();
  });
});
