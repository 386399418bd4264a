import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, tooDeep } from '../../server/src/json-depth';

const nest = (levels: number): unknown => JSON.parse('{"a":'.repeat(levels) + '1' + '}'.repeat(levels));

describe('tooDeep', () => {
  it('accepts values nested up to the bound and names where a deeper one starts', () => {
    expect(tooDeep(nest(MAX_JSON_DEPTH))).toBeUndefined();
    expect(tooDeep(nest(MAX_JSON_DEPTH + 1))).toBe('a.a.a…');
    expect(tooDeep({ ok: [1, { b: 2 }], bad: [[[1]]] }, 3, 'data')).toBe('data.bad.0.0');
    expect(tooDeep([[1]], 1)).toBe('0');
    expect(tooDeep([], 0)).toBe('(body)');
  });

  it('walks a 100,000-level document without overflowing the stack', () => {
    expect(tooDeep(nest(100_000), MAX_JSON_DEPTH, 'data')).toBe('data.a.a…');
  });
});
