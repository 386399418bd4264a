import type { Logger } from '../../logger';
import type { PublishTarget } from '../../publish';
import type { Alert } from '../alerts/engine';

/**
 * The topic dashboards subscribe to (per app, like every topic): a message says "read again", it
 * never carries aggregates, so a connection that may subscribe learns only that something changed.
 */
export const TELEMETRY_TOPIC = '$telemetry';

/** `data` of a `$telemetry` message. */
export type TelemetryLiveMessage =
  | { type: 'aggregates'; app: string; at: number }
  | { type: 'alert'; app: string; alertId: string; ruleId: string; state: Alert['state']; at: number };

export interface TelemetryLiveOptions {
  /** Least time between two `aggregates` messages of one app, ms; changes in between are sent once at its end. Default `1000`. */
  minInterval?: number;
  /** Apps with a pending trailing message at once (the oldest is sent early beyond). Default `10000`. */
  maxApps?: number;
  now?: () => number;
  timers?: { setTimeout: (fn: () => void, ms: number) => unknown; clearTimeout: (handle: unknown) => void };
}

interface AppState {
  last: number;
  timer?: unknown;
}

/**
 * Publishes on {@link TELEMETRY_TOPIC}: `aggregatesUpdated(app)` when a rollup wrote new buckets
 * (throttled per app, the last change always sent), `alert(alert)` when an alert opens or changes
 * state (at once). Bounded: one entry per recently updated app, at most `maxApps`.
 */
export class TelemetryLive {
  private readonly apps = new Map<string, AppState>();
  private readonly minInterval: number;
  private readonly maxApps: number;
  private readonly now: () => number;
  private readonly timers: NonNullable<TelemetryLiveOptions['timers']>;
  private closed = false;

  constructor(
    private readonly publish: (app: string, target: PublishTarget) => Promise<unknown>,
    private readonly logger: Logger,
    o: TelemetryLiveOptions = {},
  ) {
    this.minInterval = o.minInterval ?? 1000;
    this.maxApps = o.maxApps ?? 10_000;
    this.now = o.now ?? Date.now;
    this.timers = o.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms).unref(), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
  }

  /** The store's rollup calls this after writing buckets of `app`. */
  aggregatesUpdated(app: string): void {
    if (this.closed) return;
    const now = this.now();
    const s = this.apps.get(app);
    if (s?.timer !== undefined) return;
    if (s && now - s.last < this.minInterval) {
      s.timer = this.timers.setTimeout(() => {
        s.timer = undefined;
        this.sendAggregates(app, s);
      }, s.last + this.minInterval - now);
      return;
    }
    const fresh: AppState = { last: now };
    this.apps.delete(app);
    this.apps.set(app, fresh);
    this.send(app, { type: 'aggregates', app, at: now });
    this.trim();
  }

  /** The alerts engine calls this when an alert opens or changes state. */
  alert(alert: Alert): void {
    if (this.closed) return;
    this.send(alert.app, { type: 'alert', app: alert.app, alertId: alert.id, ruleId: alert.ruleId, state: alert.state, at: this.now() });
  }

  close(): void {
    this.closed = true;
    for (const s of this.apps.values()) if (s.timer !== undefined) this.timers.clearTimeout(s.timer);
    this.apps.clear();
  }

  private sendAggregates(app: string, s: AppState): void {
    s.last = this.now();
    this.send(app, { type: 'aggregates', app, at: s.last });
  }

  /** Forget the least recently updated apps beyond `maxApps` (sending a pending message first). */
  private trim(): void {
    while (this.apps.size > this.maxApps) {
      const [app, s] = this.apps.entries().next().value as [string, AppState];
      this.apps.delete(app);
      if (s.timer !== undefined) {
        this.timers.clearTimeout(s.timer);
        this.send(app, { type: 'aggregates', app, at: this.now() });
      }
    }
  }

  private send(app: string, data: TelemetryLiveMessage): void {
    this.publish(app, { eventTopics: [TELEMETRY_TOPIC], data }).catch((e: unknown) => this.logger.warn(`telemetry live: publish to ${app} failed`, e));
  }
}
