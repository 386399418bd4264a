/** Kinds of telemetry event. */
export type EventType = 'page' | 'event' | 'error' | 'perf' | 'api';

/** One telemetry event as it travels to the server (one line of the NDJSON sink). */
export interface TelemetryEvent {
  /** App id (option `app`). */
  app: string;
  /** Deployment environment (option `env`). */
  env: string;
  /** Release / version string (option `release`), or `null`. */
  release: string | null;
  /** User id from `setUser`, or `null`. */
  userId: string | null;
  /** Random id of this session; sampling is decided per session. */
  sessionId: string;
  type: EventType;
  name: string;
  props: Record<string, unknown>;
  /** Time of the event, ms since the Unix epoch. */
  ts: number;
  /** Sample rate in effect when the event was kept (1 = every session), so counts can be scaled up. */
  rate: number;
}

/** What one upload carries. */
export interface Batch {
  /** Format version. */
  v: 1;
  /** Time the batch was (first) sent, ms since the Unix epoch. */
  sentAt: number;
  events: TelemetryEvent[];
}

/** Why an event was dropped; the keys of {@link TelemetryStats.dropped}. */
export type DropReason = 'sampled' | 'consent' | 'overflow' | 'tooLarge' | 'expired' | 'failed';

/** Counters the app can read with `telemetry.stats()`. */
export interface TelemetryStats {
  /** Events waiting: in the batcher, held for consent/config, or in the upload queue. */
  queued: number;
  /** Events the server accepted (or `sendBeacon` took). */
  sent: number;
  /** Events dropped, by reason. */
  dropped: Record<DropReason, number>;
}

/** Outcome of one upload attempt. `status` is the HTTP status, `0` for a network failure. */
export interface SendResult {
  status: number;
  /** Wait the server asked for (from `Retry-After`), in ms. */
  retryAfter?: number;
}

/** Moves a serialized batch to the server. */
export interface Sender {
  /** Upload `body` (a JSON {@link Batch}); `signal` aborts it at the queue's timeout. */
  send(body: string, signal: AbortSignal): Promise<SendResult>;
  /**
   * Hand `body` to the browser to deliver after the page is gone (`sendBeacon` / `fetch` keepalive);
   * `true` when it was accepted. Optional: without it, unsent batches stay persisted for the next start.
   */
  unload?(body: string): boolean;
}

/** Remote configuration served by `GET /api/telemetry/config`. Every field optional. */
export interface RemoteConfig {
  /** `false` turns telemetry off (events are dropped as `consent`). */
  enabled?: boolean;
  /** Fraction of sessions kept, 0..1. */
  sampleRate?: number;
  /** When non-empty, only these `props` keys are kept (top level). */
  allow?: string[];
  /** `props` keys removed at any depth. */
  deny?: string[];
  /** Names of plugins that may run; absent: all given plugins. */
  plugins?: string[];
}

/** A plugin: started once the remote config is known, stopped by the returned teardown. */
export interface TelemetryPlugin {
  name: string;
  setup(telemetry: TrackApi): () => void;
}

/** The tracking surface plugins use. */
export interface TrackApi {
  trackPageView(name?: string, props?: Record<string, unknown>): void;
  trackEvent(name: string, props?: Record<string, unknown>): void;
  trackError(error: unknown, props?: Record<string, unknown>): void;
  trackPerf(name: string, value: number, props?: Record<string, unknown>): void;
  trackApi(name: string, props: Record<string, unknown>): void;
}
