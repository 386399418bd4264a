import { bad as badOption, int as intOption } from '../../validate';
import type { AlertRuleInput } from './rules';
import type { Lookup } from './target';

/** Alert rules on the telemetry aggregates (`createServer({ telemetry: { aggregates, alerts: { … } } })`). Every field optional. */
export interface AlertsOptions {
  /** Rules at start (more come through the admin API; docs/telemetry-alerts.md). Default none. */
  rules?: AlertRuleInput[];
  /** Time between two evaluations of every rule, in ms. Default `60000` (the aggregates' minute). */
  interval?: number;
  /** Most rules held; a `PUT` of one more answers 409. Default `100`. */
  maxRules?: number;
  /** Alerts kept in the history (a ring: the oldest is forgotten). Default `1000`. */
  maxHistory?: number;
  /** Silence windows held (ended ones are dropped); one more answers 409. Default `1000`. */
  maxSilences?: number;
  /** Webhook sends queued or in flight; beyond, a notification is dropped and logged. Default `1000`. */
  maxPendingSends?: number;
  /** Webhook sends in flight at once. Default `4`. */
  concurrency?: number;
  /** Attempts per webhook send, the first included. Default `5`. */
  attempts?: number;
  /** Wait before the first retry, ms; doubled each time, with jitter (×0.5–1). Default `1000`. */
  retryDelay?: number;
  /** Longest wait between attempts, ms (also caps `Retry-After`). Default `60000`. */
  maxRetryDelay?: number;
  /** Time one attempt may take, ms; then it is aborted and counts as failed. Default `10000`. */
  timeout?: number;
  /**
   * Let webhooks reach loopback, private, link-local and other internal addresses. Default `false`:
   * whoever holds the API key could otherwise aim the server at internal services (SSRF).
   */
  allowPrivateTargets?: boolean;
  /** The clock (ms since the epoch). Default `Date.now`. */
  now?: () => number;
  /** Timers for evaluation, retries and timeouts. Default the global ones. */
  timers?: { setTimeout: (fn: () => void, ms: number) => unknown; clearTimeout: (handle: unknown) => void };
  /** Randomness of the retry jitter, in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Host name resolution of webhook targets. Default node:dns `lookup` (all addresses). */
  lookup?: Lookup;
}

/** {@link AlertsOptions} with defaults applied. */
export interface ResolvedAlertsOptions {
  rules: AlertRuleInput[];
  interval: number;
  maxRules: number;
  maxHistory: number;
  maxSilences: number;
  maxPendingSends: number;
  concurrency: number;
  attempts: number;
  retryDelay: number;
  maxRetryDelay: number;
  timeout: number;
  allowPrivateTargets: boolean;
  now: () => number;
  timers: NonNullable<AlertsOptions['timers']>;
  random: () => number;
  lookup: Lookup | undefined;
}

const MAX_TIMER = 2 ** 31 - 1;
const name = (n: string) => `telemetry.alerts${n ? '.' + n : ''}`;
const int = (n: string, v: unknown, def: number, min: number, max?: number): number => intOption(name(n), v, def, min, max);
const fnOr = <F>(n: string, v: unknown, def: F): F => {
  if (v === undefined) return def;
  if (typeof v !== 'function') throw badOption(name(n), 'a function');
  return v as F;
};

/** Validate and apply defaults; a bad option throws a TypeError naming it (`telemetry.alerts.<name>`). Rules are checked by the engine. */
export function resolveAlertsOptions(input: AlertsOptions): ResolvedAlertsOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw badOption(name(''), 'an object');
  const o = input;
  if (o.rules !== undefined && !Array.isArray(o.rules)) throw badOption(name('rules'), 'an array of rules');
  if (o.allowPrivateTargets !== undefined && typeof o.allowPrivateTargets !== 'boolean') throw badOption(name('allowPrivateTargets'), 'a boolean');
  const t = o.timers;
  if (t !== undefined && (typeof t !== 'object' || t === null || typeof t.setTimeout !== 'function' || typeof t.clearTimeout !== 'function')) {
    throw badOption(name('timers'), 'an object with setTimeout and clearTimeout');
  }
  const maxRules = int('maxRules', o.maxRules, 100, 1, 10_000);
  if ((o.rules?.length ?? 0) > maxRules) throw badOption(name('rules'), `at most maxRules (${maxRules}) rules`);
  const retryDelay = int('retryDelay', o.retryDelay, 1000, 1, MAX_TIMER);
  return {
    rules: o.rules ?? [],
    interval: int('interval', o.interval, 60_000, 1000, MAX_TIMER),
    maxRules,
    maxHistory: int('maxHistory', o.maxHistory, 1000, 1, 1_000_000),
    maxSilences: int('maxSilences', o.maxSilences, 1000, 1, 100_000),
    maxPendingSends: int('maxPendingSends', o.maxPendingSends, 1000, 1, 100_000),
    concurrency: int('concurrency', o.concurrency, 4, 1, 64),
    attempts: int('attempts', o.attempts, 5, 1, 20),
    retryDelay,
    maxRetryDelay: int('maxRetryDelay', o.maxRetryDelay, Math.max(60_000, retryDelay), retryDelay, MAX_TIMER),
    timeout: int('timeout', o.timeout, 10_000, 1, MAX_TIMER),
    allowPrivateTargets: o.allowPrivateTargets === true,
    now: fnOr('now', o.now, Date.now),
    timers: t ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) },
    random: fnOr('random', o.random, Math.random),
    lookup: fnOr<Lookup | undefined>('lookup', o.lookup, undefined),
  };
}
