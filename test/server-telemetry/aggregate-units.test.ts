import { describe, expect, it } from 'vitest';
import { fingerprint, normaliseMessage, topFrame } from '../../server/src/telemetry/aggregates/fingerprint';
import { RELATIVE_ERROR, addTo, binOf, merge, percentiles, type Histogram } from '../../server/src/telemetry/aggregates/histogram';

describe('error fingerprints', () => {
  it('normalise numbers, hex ids, UUIDs and quoted strings so occurrences of one error match', () => {
    expect(normaliseMessage('Timeout after 1200 ms')).toBe('Timeout after <n> ms');
    expect(normaliseMessage('order 3f2a9c1e0b not found (0xdeadbeef)')).toBe('order <hex> not found (<hex>)');
    expect(normaliseMessage('user 123e4567-e89b-12d3-a456-426614174000 gone')).toBe('user <uuid> gone');
    expect(normaliseMessage(`Cannot read 'name' of "x"   and \`y\``)).toBe('Cannot read "…" of "…" and "…"');
    // A plain word of hex letters is not an id.
    expect(normaliseMessage('deadbeefcafe failed')).toBe('deadbeefcafe failed');
  });

  it('take the top frame as file:line from V8 and Firefox/Safari stacks, without column or query', () => {
    expect(topFrame('TypeError: x\n    at load (https://a.example/app.js?v=3:10:5)\n    at b (x.js:1:1)')).toBe('https://a.example/app.js:10');
    expect(topFrame('load@https://a.example/app.js:42:7\nmain@x.js:1:1')).toBe('https://a.example/app.js:42');
    expect(topFrame('    at https://a.example/chunk.js:7:1')).toBe('https://a.example/chunk.js:7');
    expect(topFrame(undefined)).toBe('');
    expect(topFrame('no frames here')).toBe('');
  });

  it('hash message and frame to a stable 16-hex fingerprint', () => {
    const a = fingerprint('Timeout after <n> ms', 'app.js:10');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint('Timeout after <n> ms', 'app.js:10')).toBe(a);
    expect(fingerprint('Timeout after <n> ms', 'app.js:11')).not.toBe(a);
  });
});

describe('log-bucket histograms', () => {
  const histogramOf = (values: number[]) => {
    const h: Histogram = {};
    for (const v of values) addTo(h, binOf(v)!);
    return h;
  };
  const exact = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.ceil(p * values.length) - 1]!;

  it('report nearest-rank percentiles within the documented relative error', () => {
    const values = Array.from({ length: 5000 }, (_, i) => 1 + ((i * 7919) % 30_000) / 7);
    const p = percentiles(histogramOf(values));
    expect(p.count).toBe(5000);
    for (const [got, q] of [[p.p50, 0.5], [p.p75, 0.75], [p.p95, 0.95], [p.p99, 0.99]] as const) {
      expect(Math.abs(got - exact(values, q)) / exact(values, q)).toBeLessThanOrEqual(RELATIVE_ERROR + 1e-6);
    }
    expect(RELATIVE_ERROR).toBeCloseTo(0.0099, 4);
  });

  it('merge by adding bins: two halves give the percentiles of the whole', () => {
    const a = Array.from({ length: 300 }, (_, i) => 10 + i);
    const b = Array.from({ length: 700 }, (_, i) => 500 + i * 3);
    expect(percentiles(merge(histogramOf(a), histogramOf(b)))).toEqual(percentiles(histogramOf([...a, ...b])));
  });

  it('count zero and negative values as 0, ignore non-numbers, and give zeros when empty', () => {
    expect(binOf(0)).toBe('z');
    expect(binOf(-3)).toBe('z');
    expect(binOf('12')).toBeNull();
    expect(binOf(Number.NaN)).toBeNull();
    expect(percentiles({})).toEqual({ count: 0, p50: 0, p75: 0, p95: 0, p99: 0 });
    expect(percentiles(histogramOf([0, 0, 5])).p50).toBe(0);
  });
});
