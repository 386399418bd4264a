import type { TelemetrySink } from '../sink';

/**
 * Several sinks as one (`teeSink(sqliteStore(…), otlpExporter(…))`): each batch is written to all
 * of them at once and the upload succeeds only when every one accepted it; a failure in one fails
 * the upload, which the client retries (so the others may hold it twice). Busy while any is busy.
 */
export function teeSink(...sinks: TelemetrySink[]): TelemetrySink & { busy(): number } {
  if (sinks.length === 0 || sinks.some((s) => typeof s?.write !== 'function')) {
    throw new TypeError('sdk-realtime server: option "teeSink" must be given sinks (objects with a write method)');
  }
  return {
    async write(events) {
      const results = await Promise.allSettled(sinks.map((s) => s.write(events)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    busy: () => Math.max(0, ...sinks.map((s) => s.busy?.() ?? 0)),
    async close() {
      await Promise.all(sinks.map((s) => s.close?.()));
    },
  };
}
