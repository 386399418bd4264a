import type { AggregateReader, ErrorRow } from '../aggregates/types';
import type { AlertRule } from './rules';

const MINUTE = 60_000;

/** One evaluation of a rule's metric over its window. */
export interface Measurement {
  /** The metric's value; `null` when the window has fewer than `minSamples` in the denominator (no data). */
  value: number | null;
  /** The denominator the value rests on (views, requests, sessions; for `new_error` the fingerprints). */
  samples: number;
  /** The window measured: `[from, to)`, whole minutes. */
  from: number;
  to: number;
  /** For `new_error`: the new fingerprints (at most 5), to name them in the notification. */
  errors?: ErrorRow[];
}

/**
 * The window a rule looks at: the `windowMinutes` whole minutes before the current one (the current
 * minute's bucket is still filling, so it would read low).
 */
export function windowOf(rule: Pick<AlertRule, 'windowMinutes'>, now: number): { from: number; to: number } {
  const to = Math.floor(now / MINUTE) * MINUTE;
  return { from: to - rule.windowMinutes * MINUTE, to };
}

const percent = (part: number, whole: number, min: number): number | null => (whole >= min && whole > 0 ? (100 * part) / whole : null);

/**
 * Measure a rule's metric with one reader call, on `WindowSummary` (or `newErrors`):
 *
 * - `error_rate`: 100 × `errors` ÷ `views` (errors per 100 page views), `null` below `minSamples` views;
 * - `api_p95`: `apiLatency.p95` in ms, `null` below `minSamples` requests (`apiLatency.count`);
 * - `api_failure_rate`: 100 × `apiFailures` ÷ `apiRequests`, `null` below `minSamples` requests;
 * - `disconnect_rate`: 100 × `disconnects` ÷ `sessions`, `null` below `minSamples` sessions;
 * - `new_error`: the number of fingerprints first seen in the window (`newErrors(app, from)`, every
 *   environment: the contract has no env filter there).
 */
export async function measure(rule: AlertRule, reader: AggregateReader, now: number): Promise<Measurement> {
  const { from, to } = windowOf(rule, now);
  if (rule.metric === 'new_error') {
    const rows = await reader.newErrors(rule.app, from, 100);
    return { value: rows.length, samples: rows.length, from, to, errors: rows.slice(0, 5) };
  }
  const s = await reader.summary({ app: rule.app, env: rule.env, release: rule.release, from, to });
  const min = rule.minSamples;
  switch (rule.metric) {
    case 'error_rate':
      return { value: percent(s.errors, s.views, min), samples: s.views, from, to };
    case 'api_failure_rate':
      return { value: percent(s.apiFailures, s.apiRequests, min), samples: s.apiRequests, from, to };
    case 'disconnect_rate':
      return { value: percent(s.disconnects, s.sessions, min), samples: s.sessions, from, to };
    case 'api_p95': {
      const n = s.apiLatency.count;
      return { value: n >= min && n > 0 ? s.apiLatency.p95 : null, samples: n, from, to };
    }
  }
}

/** Does `value` break the rule's threshold? No data never does. */
export function breaches(rule: Pick<AlertRule, 'op' | 'threshold'>, value: number | null): boolean {
  if (value === null) return false;
  switch (rule.op) {
    case '>':
      return value > rule.threshold;
    case '>=':
      return value >= rule.threshold;
    case '<':
      return value < rule.threshold;
    case '<=':
      return value <= rule.threshold;
  }
}

/** Units for messages. */
export function unitOf(metric: AlertRule['metric']): string {
  return metric === 'api_p95' ? ' ms' : metric === 'new_error' ? '' : '%';
}
