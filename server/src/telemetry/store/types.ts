import type { AggregateReader, Granularity } from '../aggregates/types';
import type { StoredEvent, TelemetrySink } from '../sink';

/** What a store reports about its bounds (`GET /metrics`-style counters; also logged when a bound is hit). */
export interface StoreStats {
  /** Events waiting in the write buffer (not yet in a transaction). */
  buffered: number;
  /** Events written since start. */
  written: number;
  /** Events a `write` refused because the buffer was full (the upload got 429; uploads refused earlier, on `busy()`, are not counted). */
  rejected: number;
  /** Events dropped because their `ts` was outside `[now - retentionDays, now + 1 day]`. */
  outOfRange: number;
  /** Dirty buckets waiting for a rollup. */
  dirty: number;
  /** Raw events deleted by retention since start. */
  expired: number;
}

/**
 * A telemetry store: a sink that writes batches, the aggregate read contract, and upkeep.
 * `close()` flushes the buffer, stops the timers and closes the database (idempotent).
 */
export interface TelemetryStore extends TelemetrySink, AggregateReader {
  /** Retry-After in ms while the write buffer is full (ingestion answers 429), else 0. */
  busy(): number;
  /** Write everything buffered now. */
  flush(): Promise<void>;
  /** Recompute every dirty bucket (what the timer does), as of `now`; resolves with how many were computed. */
  rollup(now?: number): Promise<number>;
  /** Recompute one bucket from raw events whether dirty or not (delete + insert in one transaction). */
  recompute(granularity: Granularity, bucket: number): Promise<void>;
  /** Delete expired raw events and aggregates (what the timer does), as of `now`. */
  retention(now?: number): Promise<void>;
  stats(): StoreStats;
  /**
   * Call `listener` after every rollup pass (timer or `rollup()`), whether this node computed the
   * buckets or another one did; returns the unsubscribe function. The server uses it to tell open
   * dashboards to read again.
   */
  onRollup(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Thrown by `write` while the buffer is full; ingestion turns it into 429 with `Retry-After`. */
export class StoreBusyError extends Error {
  readonly code = 'busy';
  constructor(readonly retryAfter: number) {
    super('telemetry storage is busy');
    this.name = 'StoreBusyError';
  }
}

export type { StoredEvent };
