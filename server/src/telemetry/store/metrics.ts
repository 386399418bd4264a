import type { TelemetryStore } from './types';

/** A store's bounds and counters as Prometheus samples, for `GET /metrics`. */
export function storeMetrics(store: TelemetryStore | undefined): Record<string, number> {
  if (!store) return {};
  const s = store.stats();
  return {
    sdk_realtime_telemetry_buffered_events: s.buffered,
    sdk_realtime_telemetry_written_events_total: s.written,
    sdk_realtime_telemetry_rejected_events_total: s.rejected,
    sdk_realtime_telemetry_out_of_range_events_total: s.outOfRange,
    sdk_realtime_telemetry_expired_events_total: s.expired,
    sdk_realtime_telemetry_dirty_buckets: s.dirty,
  };
}
