import { onCLS, onFCP, onINP, onLCP, onTTFB, type MetricType } from 'web-vitals';
import type { TelemetryPlugin } from '../types';

export interface WebVitalsPluginOptions {
  /** Report every change of a metric (`true`) or only its final value (`false`). Default `false`. */
  reportAllChanges?: boolean;
}

/**
 * Core Web Vitals through `web-vitals`: LCP, INP, CLS, TTFB and FCP as `perf` events named after the
 * metric, with `value`, `rating`, `delta`, `id` and `navigationType`. web-vitals reports final values
 * when the page hides, which is also when the tracker flushes by beacon.
 */
export function webVitalsPlugin(o: WebVitalsPluginOptions = {}): TelemetryPlugin {
  return {
    name: 'vitals',
    setup(t) {
      let on = true;
      const report = (m: MetricType) => {
        if (on) t.trackPerf(m.name, m.value, { rating: m.rating, delta: m.delta, id: m.id, navigationType: m.navigationType });
      };
      const opts = { reportAllChanges: !!o.reportAllChanges };
      for (const f of [onLCP, onINP, onCLS, onTTFB, onFCP]) f(report, opts);
      // web-vitals has no unsubscribe: after teardown its callbacks are ignored.
      return () => (on = false);
    },
  };
}
