import type {
  AggregateFilter,
  AggregateReader,
  ApiRow,
  ErrorRow,
  RealtimeRow,
  StayRow,
  TrafficRow,
  VitalRow,
  WindowSummary,
} from '../../server/src/telemetry/aggregates/types';

/**
 * A test fixture, never shipped: an {@link AggregateReader} over rows the test puts in, each tagged
 * with its app, env and release. Filters like the contract says (app required, env and release
 * optional, `[from, to)`), so the alert evaluator and the dashboard can be tested before the real
 * stores exist.
 */
type Tag = { app: string; env?: string; release?: string };
type MinuteSummary = Tag & { bucket: number } & Partial<WindowSummary>;

const emptyPercentiles = { count: 0, p50: 0, p75: 0, p95: 0, p99: 0 };

export class MemoryAggregates implements AggregateReader {
  traffics: Array<Tag & TrafficRow> = [];
  stays: Array<Tag & StayRow> = [];
  apis: Array<Tag & ApiRow> = [];
  errorRows: Array<Tag & ErrorRow> = [];
  vitalRows: Array<Tag & VitalRow> = [];
  realtimes: Array<Tag & RealtimeRow> = [];
  minutes: MinuteSummary[] = [];
  /** Every call, for assertions: `[method, argument]`. */
  calls: Array<[string, unknown]> = [];
  /** Make the next calls reject with this error. */
  failWith: Error | undefined;

  private pick<T extends Tag & { bucket: number }>(rows: T[], f: Omit<AggregateFilter, 'granularity'>, limit: number): T[] {
    return rows
      .filter((r) => r.app === f.app && (f.env === undefined || r.env === f.env) && (f.release === undefined || r.release === f.release))
      .filter((r) => r.bucket >= f.from && r.bucket < f.to)
      .slice(0, limit);
  }

  private call(name: string, arg: unknown): void {
    this.calls.push([name, arg]);
    if (this.failWith) throw this.failWith;
  }

  async traffic(f: AggregateFilter, limit = 1000) {
    this.call('traffic', f);
    return this.pick(this.traffics, f, limit);
  }
  async stay(f: AggregateFilter, limit = 1000) {
    this.call('stay', f);
    return this.pick(this.stays, f, limit);
  }
  async api(f: AggregateFilter, limit = 1000) {
    this.call('api', f);
    return this.pick(this.apis, f, limit);
  }
  async errors(f: AggregateFilter, limit = 20) {
    this.call('errors', f);
    return this.errorRows
      .filter((r) => r.app === f.app && (f.env === undefined || r.env === f.env) && r.lastSeen >= f.from && r.firstSeen < f.to)
      .sort((a, b) => b.count - a.count)
      .slice(0, limit);
  }
  async vitals(f: AggregateFilter, limit = 1000) {
    this.call('vitals', f);
    return this.pick(this.vitalRows, f, limit);
  }
  async realtime(f: AggregateFilter, limit = 1000) {
    this.call('realtime', f);
    return this.pick(this.realtimes, f, limit);
  }
  async summary(f: Omit<AggregateFilter, 'granularity'>): Promise<WindowSummary> {
    this.call('summary', f);
    const s: WindowSummary = { events: 0, sessions: 0, views: 0, errors: 0, apiRequests: 0, apiFailures: 0, apiLatency: { ...emptyPercentiles }, disconnects: 0 };
    for (const m of this.pick(this.minutes, f, Infinity)) {
      for (const k of ['events', 'sessions', 'views', 'errors', 'apiRequests', 'apiFailures', 'disconnects'] as const) s[k] += m[k] ?? 0;
      // Worst minute: enough for a fixture (the real stores merge histograms).
      if (m.apiLatency && m.apiLatency.p95 >= s.apiLatency.p95) s.apiLatency = { ...m.apiLatency, count: s.apiLatency.count + m.apiLatency.count };
      else if (m.apiLatency) s.apiLatency.count += m.apiLatency.count;
    }
    return s;
  }
  async newErrors(app: string, since: number, limit = 20) {
    this.call('newErrors', { app, since });
    return this.errorRows.filter((r) => r.app === app && r.firstSeen >= since).slice(0, limit);
  }
  async dimensions(app?: string) {
    this.call('dimensions', app);
    const all: Tag[] = [...this.traffics, ...this.apis, ...this.minutes, ...this.realtimes, ...this.vitalRows];
    const of = (pick: (t: Tag) => string | undefined, rows: Tag[]) => [...new Set(rows.map(pick).filter((x): x is string => !!x))].sort().slice(0, 200);
    const mine = app === undefined ? all : all.filter((t) => t.app === app);
    return { apps: of((t) => t.app, all), envs: of((t) => t.env, mine), releases: of((t) => t.release, mine) };
  }
}
