import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger';
import type { AggregateReader } from '../aggregates/types';
import { breaches, measure, unitOf, type Measurement } from './measure';
import type { Notice } from './payload';
import { Ring } from './ring';
import { alertRule, firstIssue, silenceInput, type AlertRule, type Silence } from './rules';

/**
 * An alert's life: `firing` when its rule's condition holds, `acknowledged` once someone took it
 * (`POST …/ack`: no more notifications), `resolved` when a later evaluation finds the condition
 * gone (or the rule is deleted). The next breach after that opens a new alert.
 */
export type AlertState = 'firing' | 'acknowledged' | 'resolved';

/** One alert, as kept in the history and sent on the `$telemetry` topic. */
export interface Alert {
  id: string;
  ruleId: string;
  app: string;
  env?: string;
  metric: AlertRule['metric'];
  op: AlertRule['op'];
  threshold: number;
  state: AlertState;
  /** The metric at the latest evaluation that found the condition holding. */
  value: number | null;
  firedAt: number;
  acknowledgedAt?: number;
  resolvedAt?: number;
  /** Notifications sent (each to every webhook of the rule); 0 while silenced or debounced. */
  notifications: number;
  lastNotifiedAt?: number;
  /** Webhook sends that were delivered / that gave up (after their retries). */
  delivered: number;
  failed: number;
}

/** A rule with what its evaluator knows. */
export interface RuleStatus {
  rule: AlertRule;
  /** The open (firing or acknowledged) alert, if any. */
  open: Alert | undefined;
  lastEvaluatedAt?: number;
  lastValue?: number | null;
  /** The reader's error at the last evaluation, if it failed (the state is then left as it was). */
  lastError?: string;
}

/** A bad rule or silence: `field` names the offending field. */
export class AlertInputError extends TypeError {
  readonly code = 'bad_request';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A bound was reached (rules, silences). */
export class AlertLimitError extends RangeError {
  readonly code = 'limit_reached';
}

export interface EngineLimits {
  maxRules: number;
  maxHistory: number;
  maxSilences: number;
}

export interface EngineWorld {
  now: () => number;
}

export interface EngineHooks {
  /** Send `notice` to every webhook of `rule`. */
  notify(rule: AlertRule, notice: Notice): void;
  /** An alert opened or changed state (the dashboard's live topic). */
  changed(alert: Alert): void;
}

interface Entry {
  rule: AlertRule;
  open: Alert | undefined;
  lastNotifiedAt?: number;
  lastEvaluatedAt?: number;
  lastValue?: number | null;
  lastError?: string;
}

const MINUTE = 60_000;

const fmt = (v: number | null): string => (v === null ? 'no data' : String(Math.round(v * 100) / 100));

/** One human line for a notification. */
function textOf(kind: Notice['kind'], rule: AlertRule, alert: Alert): string {
  const unit = unitOf(rule.metric);
  const where = `app ${rule.app}${rule.env ? ', ' + rule.env : ''}${rule.release ? ', release ' + rule.release : ''}`;
  const cond = `${rule.metric} ${fmt(alert.value)}${unit} ${rule.op} ${rule.threshold}${unit} over ${rule.windowMinutes} min`;
  return kind === 'firing' ? `[FIRING] ${rule.id}: ${cond} (${where})` : `[RESOLVED] ${rule.id}: ${rule.metric} back within ${rule.op} ${rule.threshold}${unit} (${where})`;
}

/**
 * The alert rules, their open alerts, silences and history; {@link evaluate} runs every rule once.
 * Knows nothing of timers, HTTP or webhooks (see alerts/index.ts): the clock is injected, the
 * notifications go to {@link EngineHooks}. Bounded: `maxRules` rules, `maxSilences` silences,
 * `maxHistory` alerts (the oldest forgotten).
 */
export class AlertEngine {
  private readonly rules = new Map<string, Entry>();
  private readonly silences = new Map<string, Silence>();
  private readonly history: Ring<Alert>;
  private readonly byId = new Map<string, Alert>();

  constructor(
    private readonly reader: AggregateReader,
    private readonly limits: EngineLimits,
    private readonly world: EngineWorld,
    private readonly hooks: EngineHooks,
    private readonly logger: Logger,
  ) {
    this.history = new Ring<Alert>(limits.maxHistory);
  }

  /** Validate and add or replace a rule (its open alert and debounce carry over). */
  put(input: unknown, field = ''): AlertRule {
    const parsed = alertRule.safeParse(input);
    if (!parsed.success) {
      const { field: f, message } = firstIssue(parsed.error, field);
      throw new AlertInputError(f, message);
    }
    const rule = parsed.data;
    const entry = this.rules.get(rule.id);
    if (entry) {
      entry.rule = rule;
    } else {
      if (this.rules.size >= this.limits.maxRules) throw new AlertLimitError(`at most ${this.limits.maxRules} alert rules`);
      this.rules.set(rule.id, { rule, open: undefined });
    }
    return rule;
  }

  /** Delete a rule; its open alert resolves. `false` when there was none. */
  delete(id: string): boolean {
    const entry = this.rules.get(id);
    if (!entry) return false;
    this.rules.delete(id);
    if (entry.open) this.resolve(entry, this.world.now(), false);
    return true;
  }

  get(id: string): RuleStatus | undefined {
    const e = this.rules.get(id);
    return e && this.statusOf(e);
  }

  list(): RuleStatus[] {
    return [...this.rules.values()].map((e) => this.statusOf(e));
  }

  /** Alerts newest first, optionally of one rule, at most `limit`. */
  alerts(filter: { ruleId?: string; app?: string; limit?: number } = {}): Alert[] {
    const out: Alert[] = [];
    const limit = filter.limit ?? this.limits.maxHistory;
    for (const a of this.history.newest()) {
      if (out.length >= limit) break;
      if ((filter.ruleId === undefined || a.ruleId === filter.ruleId) && (filter.app === undefined || a.app === filter.app)) out.push({ ...a });
    }
    return out;
  }

  /**
   * Acknowledge a firing alert: no more notifications for it; it still resolves when the condition
   * goes. `undefined` when no such alert is kept; an acknowledged or resolved alert is returned as is.
   */
  acknowledge(alertId: string): Alert | undefined {
    const alert = this.lookup(alertId);
    if (!alert) return undefined;
    if (alert.state === 'firing') {
      alert.state = 'acknowledged';
      alert.acknowledgedAt = this.world.now();
      this.hooks.changed({ ...alert });
    }
    return { ...alert };
  }

  /** A kept alert by id (a copy), or `undefined`. */
  find(alertId: string): Alert | undefined {
    const a = this.lookup(alertId);
    return a && { ...a };
  }

  private lookup(alertId: string): Alert | undefined {
    // The open alerts are looked at too: one can outlive its place in a small history.
    return this.byId.get(alertId) ?? [...this.rules.values()].find((e) => e.open?.id === alertId)?.open;
  }

  /** Count a webhook send of `alertId` that ended (the sender calls this). */
  delivery(alertId: string, ok: boolean): void {
    const a = this.lookup(alertId);
    if (!a) return;
    if (ok) a.delivered++;
    else a.failed++;
  }

  addSilence(input: unknown): Silence {
    const parsed = silenceInput.safeParse(input);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error);
      throw new AlertInputError(field, message);
    }
    this.pruneSilences(this.world.now());
    if (this.silences.size >= this.limits.maxSilences) throw new AlertLimitError(`at most ${this.limits.maxSilences} silences`);
    const silence: Silence = { id: randomUUID(), ...parsed.data };
    this.silences.set(silence.id, silence);
    return silence;
  }

  deleteSilence(id: string): boolean {
    return this.silences.delete(id);
  }

  /** Silences that have not ended. */
  listSilences(): Silence[] {
    this.pruneSilences(this.world.now());
    return [...this.silences.values()];
  }

  /** Is `rule` silenced at `now`? */
  silenced(rule: AlertRule, now: number): boolean {
    for (const s of this.silences.values()) {
      if (s.from <= now && now < s.to && (s.ruleId === undefined || s.ruleId === rule.id) && (s.app === undefined || s.app === rule.app)) return true;
    }
    return false;
  }

  /** Evaluate every enabled rule once, one reader query at a time (the store is spared bursts). */
  async evaluate(): Promise<void> {
    this.pruneSilences(this.world.now());
    for (const entry of [...this.rules.values()]) {
      if (!entry.rule.enabled) continue;
      const rule = entry.rule;
      let m: Measurement;
      try {
        m = await measure(rule, this.reader, this.world.now());
      } catch (e) {
        entry.lastError = e instanceof Error ? e.message : String(e);
        this.logger.error(`alert rule ${rule.id}: reading aggregates failed`, e);
        continue;
      }
      // Deleted or replaced while the query ran: the result is for a rule that no longer is.
      if (this.rules.get(rule.id) !== entry || entry.rule !== rule) continue;
      this.apply(entry, m, this.world.now());
    }
  }

  private apply(entry: Entry, m: Measurement, now: number): void {
    const rule = entry.rule;
    entry.lastEvaluatedAt = now;
    entry.lastValue = m.value;
    entry.lastError = undefined;
    if (!breaches(rule, m.value)) {
      if (entry.open) this.resolve(entry, now, true);
      return;
    }
    let alert = entry.open;
    if (!alert) {
      alert = {
        id: randomUUID(),
        ruleId: rule.id,
        app: rule.app,
        ...(rule.env ? { env: rule.env } : {}),
        metric: rule.metric,
        op: rule.op,
        threshold: rule.threshold,
        state: 'firing',
        value: m.value,
        firedAt: now,
        notifications: 0,
        delivered: 0,
        failed: 0,
      };
      entry.open = alert;
      this.remember(alert);
      this.hooks.changed({ ...alert });
    }
    alert.value = m.value;
    if (alert.state !== 'firing' || this.silenced(rule, now)) return;
    // Debounce per rule, across its alerts: a flapping condition notifies once per period.
    if (entry.lastNotifiedAt !== undefined && now - entry.lastNotifiedAt < rule.debounceMinutes * MINUTE) return;
    entry.lastNotifiedAt = now;
    alert.notifications++;
    alert.lastNotifiedAt = now;
    this.hooks.notify(rule, this.noticeOf('firing', rule, alert, now));
  }

  private resolve(entry: Entry, now: number, notify: boolean): void {
    const alert = entry.open!;
    entry.open = undefined;
    alert.state = 'resolved';
    alert.resolvedAt = now;
    this.hooks.changed({ ...alert });
    // Only those who were told it fired hear that it resolved.
    if (notify && alert.notifications > 0 && !this.silenced(entry.rule, now)) this.hooks.notify(entry.rule, this.noticeOf('resolved', entry.rule, alert, now));
  }

  private noticeOf(kind: Notice['kind'], rule: AlertRule, alert: Alert, now: number): Notice {
    return {
      kind,
      alertId: alert.id,
      ruleId: rule.id,
      app: rule.app,
      ...(rule.env ? { env: rule.env } : {}),
      metric: rule.metric,
      value: alert.value,
      threshold: rule.threshold,
      op: rule.op,
      at: now,
      text: textOf(kind, rule, alert),
    };
  }

  private remember(alert: Alert): void {
    const evicted = this.history.push(alert);
    if (evicted) this.byId.delete(evicted.id);
    this.byId.set(alert.id, alert);
  }

  private pruneSilences(now: number): void {
    for (const [id, s] of this.silences) if (s.to <= now) this.silences.delete(id);
  }

  private statusOf(e: Entry): RuleStatus {
    return {
      rule: e.rule,
      open: e.open && { ...e.open },
      ...(e.lastEvaluatedAt !== undefined ? { lastEvaluatedAt: e.lastEvaluatedAt, lastValue: e.lastValue } : {}),
      ...(e.lastError !== undefined ? { lastError: e.lastError } : {}),
    };
  }
}
