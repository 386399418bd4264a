/**
 * The contract between telemetry storage (which computes aggregates) and what reads them (alert
 * rules, the dashboard, `GET /api/telemetry/aggregates`). Stores implement {@link AggregateReader};
 * readers depend on nothing else. Times are ms since the epoch, UTC; a bucket is the start of its
 * minute, hour or day.
 */

/**
 * `minute` buckets exist for alert windows (kept 48 h); `hour` and `day` outlive raw events
 * (kept 400 days by default).
 */
export type Granularity = 'minute' | 'hour' | 'day';

/** What every query narrows by. `app` is required: nothing reads across apps. */
export interface AggregateFilter {
  app: string;
  /** Only this environment (`'production'`, …); every environment when absent. */
  env?: string;
  /** Only this release; every release when absent. */
  release?: string;
  /** First bucket included (rounded down to the granularity). */
  from: number;
  /** Buckets strictly before this time. */
  to: number;
  granularity: Granularity;
}

/** Page views per page and bucket (`page` events), with distinct users and sessions. */
export interface TrafficRow {
  bucket: number;
  page: string;
  views: number;
  /** Distinct non-null userIds in the bucket (exact, from raw events). */
  users: number;
  sessions: number;
}

/** Latency percentiles in ms, from a histogram (so hours merge into days without raw events). */
export interface Percentiles {
  count: number;
  p50: number;
  p75: number;
  p95: number;
  p99: number;
}

/** Time spent on a page (the `stay` prop of page events, ms), per page and bucket. */
export interface StayRow extends Percentiles {
  bucket: number;
  page: string;
}

/** `api` events per templated route (`METHOD /route`) and status, per bucket. */
export interface ApiRow extends Percentiles {
  bucket: number;
  /** `GET /orders/:id`. */
  route: string;
  /** HTTP status; 0 for a network failure. */
  status: number;
  /** Requests with status 0 or >= 500 (an API failure, as alert rules count it). */
  failures: number;
}

/** One error fingerprint over the queried range (top-K by count). */
export interface ErrorRow {
  /** Stable hash of the normalised message and the top stack frame. */
  fingerprint: string;
  /** The normalised message (numbers, ids and quoted values replaced). */
  message: string;
  /** The top stack frame, `file:line` without the column, or `''`. */
  frame: string;
  count: number;
  users: number;
  /** First and last time this fingerprint was seen, ever (not only in the range). */
  firstSeen: number;
  lastSeen: number;
}

/** Web Vitals (`perf` events named LCP, INP, CLS, FCP, TTFB) per page and bucket. */
export interface VitalRow {
  bucket: number;
  page: string;
  metric: 'LCP' | 'INP' | 'CLS' | 'FCP' | 'TTFB';
  count: number;
  /** 75th percentile of `props.value` (CLS unitless, the others ms). */
  p75: number;
}

/** Realtime health per bucket, from the realtime plugin's events. */
export interface RealtimeRow {
  bucket: number;
  /** Distinct sessions that sent any event in the bucket (the denominator of the rates). */
  sessions: number;
  disconnects: number;
  reconnects: number;
  /** `realtime.gap` events (a subscription could not recover missed messages). */
  gaps: number;
  /** `realtime.rtt` samples, ms. */
  rtt: Percentiles;
}

/** Totals over a window, as alert rules need them (one query per rule evaluation). */
export interface WindowSummary {
  events: number;
  sessions: number;
  views: number;
  errors: number;
  apiRequests: number;
  apiFailures: number;
  /** Over all routes of the window. */
  apiLatency: Percentiles;
  disconnects: number;
}

/** Read side of a telemetry store's aggregates. Every method is bounded: `limit` caps rows (default 1000). */
export interface AggregateReader {
  traffic(f: AggregateFilter, limit?: number): Promise<TrafficRow[]>;
  stay(f: AggregateFilter, limit?: number): Promise<StayRow[]>;
  api(f: AggregateFilter, limit?: number): Promise<ApiRow[]>;
  /** Top `limit` (default 20) fingerprints by count within the range. */
  errors(f: AggregateFilter, limit?: number): Promise<ErrorRow[]>;
  vitals(f: AggregateFilter, limit?: number): Promise<VitalRow[]>;
  realtime(f: AggregateFilter, limit?: number): Promise<RealtimeRow[]>;
  /** Totals of minute buckets in `[from, to)` (granularity ignored). */
  summary(f: Omit<AggregateFilter, 'granularity'>): Promise<WindowSummary>;
  /** Fingerprints whose `firstSeen` is in `[since, now)`, for the "new error" rule. */
  newErrors(app: string, since: number, limit?: number): Promise<ErrorRow[]>;
  /** Distinct apps, envs and releases seen (for the dashboard's filters), each capped at 200. */
  dimensions(app?: string): Promise<{ apps: string[]; envs: string[]; releases: string[] }>;
}
