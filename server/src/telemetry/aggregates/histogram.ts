import type { Percentiles } from './types';

/**
 * A fixed log-bucket histogram: a value v > 0 falls in bin `ceil(log(v) / log(GAMMA))`, so bin i
 * holds (GAMMA^(i-1), GAMMA^i]. Reporting a bin by `2·GAMMA^i / (GAMMA + 1)` is off by at most
 * (GAMMA - 1) / (GAMMA + 1) ≈ 0.99 % of the true value. Bins are fixed, so two histograms merge by
 * adding counts: hours merge into days and minute rows into a window without raw events.
 * Values ≤ 0 (and non-numbers) count in bin `z`, reported as 0.
 */
export const GAMMA = 1.02;
/** Largest relative error of a reported percentile (documented in docs/telemetry-backend.md). */
export const RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1);
const LOG_GAMMA = Math.log(GAMMA);
/** Values are clamped to [1e-6, 1e9] first, so at most ~1,750 bins exist. */
const MIN = 1e-6;
const MAX = 1e9;

/** Sparse bins: bin index (or `z` for values ≤ 0) → count. */
export type Histogram = Record<string, number>;

/** The bin of a value, `null` for a value that is not a finite number (not counted). */
export function binOf(v: unknown): number | 'z' | null {
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  if (v <= 0) return 'z';
  return Math.ceil(Math.log(Math.min(MAX, Math.max(MIN, v))) / LOG_GAMMA);
}

/** The value a bin stands for. */
export function valueOf(bin: string): number {
  if (bin === 'z') return 0;
  return (2 * Math.pow(GAMMA, Number(bin))) / (GAMMA + 1);
}

export function addTo(h: Histogram, bin: string | number, n = 1): void {
  const k = String(bin);
  h[k] = (h[k] ?? 0) + n;
}

export function merge(into: Histogram, from: Histogram): Histogram {
  for (const k of Object.keys(from)) addTo(into, k, from[k]!);
  return into;
}

const order = (k: string) => (k === 'z' ? -Infinity : Number(k));

/**
 * Nearest-rank percentiles (the value at rank `ceil(p · count)`), each within RELATIVE_ERROR of
 * the exact one over the raw values. An empty histogram gives zeros.
 */
export function percentiles(h: Histogram): Percentiles {
  const keys = Object.keys(h).sort((a, b) => order(a) - order(b));
  let count = 0;
  for (const k of keys) count += h[k]!;
  const at = (p: number) => {
    if (count === 0) return 0;
    const rank = Math.max(1, Math.ceil(p * count));
    let seen = 0;
    for (const k of keys) {
      seen += h[k]!;
      if (seen >= rank) return round(valueOf(k));
    }
    return round(valueOf(keys[keys.length - 1]!));
  };
  return { count, p50: at(0.5), p75: at(0.75), p95: at(0.95), p99: at(0.99) };
}

/** Six significant digits (the histogram knows fewer; this only keeps the JSON short). */
const round = (v: number) => (v === 0 ? 0 : Number(v.toPrecision(6)));

export function parseHistogram(text: unknown): Histogram {
  if (typeof text !== 'string' || !text) return {};
  return JSON.parse(text) as Histogram;
}
