import { describe, expect, it } from 'vitest';
import { ApiKeyGate } from '../../server/src/api-key';
import { silentLogger } from '../../server/src/logger';
import { AlertEngine, AlertInputError, AlertLimitError, type Alert } from '../../server/src/telemetry/alerts/engine';
import { createAlertsService } from '../../server/src/telemetry/alerts/index';
import { measure } from '../../server/src/telemetry/alerts/measure';
import type { Notice } from '../../server/src/telemetry/alerts/payload';
import { Ring } from '../../server/src/telemetry/alerts/ring';
import { alertRule, type AlertRuleInput } from '../../server/src/telemetry/alerts/rules';
import { MemoryAggregates } from './memory-aggregates';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** An engine on a fake clock, with the notifications and state changes it made. */
function setup(limits = { maxRules: 100, maxHistory: 100, maxSilences: 100 }) {
  const reader = new MemoryAggregates();
  const clock = { now: T0 };
  const notices: Notice[] = [];
  const changes: Alert[] = [];
  const engine = new AlertEngine(reader, limits, { now: () => clock.now }, { notify: (_r, n) => notices.push(n), changed: (a) => changes.push(a) }, silentLogger);
  /** Put minute summaries covering [from, to) of app `shop`. */
  const minutes = (from: number, to: number, s: Record<string, unknown>) => {
    for (let b = from; b < to; b += MIN) reader.minutes.push({ app: 'shop', env: 'production', bucket: b, ...s });
  };
  const at = async (t: number) => {
    clock.now = t;
    await engine.evaluate();
  };
  return { reader, clock, notices, changes, engine, minutes, at };
}

const rate: AlertRuleInput = { id: 'errors', app: 'shop', metric: 'error_rate', op: '>', threshold: 2, windowMinutes: 5, debounceMinutes: 10, webhooks: [] };

describe('alert metrics (measure)', () => {
  it('error_rate is 100 × errors ÷ views over the whole minutes before the current one', async () => {
    const { reader, minutes } = setup();
    minutes(T0 - 5 * MIN, T0, { views: 20, errors: 1 });
    // The current minute (still filling) is left out of the window.
    minutes(T0, T0 + MIN, { views: 1, errors: 100 });
    const m = await measure(alertRule.parse(rate), reader, T0 + 30_000);
    expect(m).toMatchObject({ value: 5, samples: 100, from: T0 - 5 * MIN, to: T0 });
    expect(reader.calls[0]).toEqual(['summary', { app: 'shop', env: undefined, release: undefined, from: T0 - 5 * MIN, to: T0 }]);
  });

  it('a rate is no data (null) below minSamples, and no data never breaches', async () => {
    const { reader, minutes, engine, notices, at } = setup();
    minutes(T0 - 5 * MIN, T0, { views: 1, errors: 1 });
    expect((await measure(alertRule.parse({ ...rate, minSamples: 10 }), reader, T0)).value).toBeNull();
    engine.put({ ...rate, minSamples: 10 });
    await at(T0);
    expect(notices).toEqual([]);
    expect(engine.get('errors')!.lastValue).toBeNull();
  });

  it('api_p95, api_failure_rate, disconnect_rate and new_error read the fields they name', async () => {
    const { reader, minutes } = setup();
    minutes(T0 - 5 * MIN, T0, { sessions: 10, disconnects: 1, apiRequests: 50, apiFailures: 5, apiLatency: { count: 50, p50: 100, p75: 300, p95: 1800, p99: 2500 } });
    reader.errorRows.push({ app: 'shop', fingerprint: 'f1', message: 'boom', frame: 'a.js:1', count: 3, users: 1, firstSeen: T0 - MIN, lastSeen: T0 - MIN });
    reader.errorRows.push({ app: 'shop', fingerprint: 'f0', message: 'old', frame: '', count: 9, users: 4, firstSeen: T0 - 60 * MIN, lastSeen: T0 - MIN });
    const m = (metric: string) => measure(alertRule.parse({ ...rate, metric }), reader, T0);
    expect((await m('api_p95')).value).toBe(1800);
    expect((await m('api_failure_rate')).value).toBe(10);
    expect((await m('disconnect_rate')).value).toBe(2 * 5);
    const fresh = await m('new_error');
    expect(fresh.value).toBe(1);
    expect(fresh.errors!.map((e) => e.fingerprint)).toEqual(['f1']);
  });
});

describe('alert evaluation on a fake clock', () => {
  it('fires once, reminds once per debounce period while firing, and resolves (notifying) when the condition goes', async () => {
    const { engine, minutes, notices, changes, at } = setup();
    engine.put(rate);
    minutes(T0 - 10 * MIN, T0 + 30 * MIN, { views: 100, errors: 5 });
    await at(T0);
    expect(notices.map((n) => n.kind)).toEqual(['firing']);
    expect(notices[0]!.text).toBe('[FIRING] errors: error_rate 5% > 2% over 5 min (app shop)');
    for (let t = 1; t < 10; t++) await at(T0 + t * MIN);
    expect(notices).toHaveLength(1); // debounced for 10 minutes
    await at(T0 + 10 * MIN);
    expect(notices.map((n) => n.kind)).toEqual(['firing', 'firing']);
    expect(notices[1]!.alertId).toBe(notices[0]!.alertId); // a reminder of the same alert
    // Errors stop: after the window has moved past them, the alert resolves.
    await at(T0 + 36 * MIN);
    expect(notices.map((n) => n.kind)).toEqual(['firing', 'firing', 'resolved']);
    expect(changes.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(engine.alerts()[0]).toMatchObject({ state: 'resolved', notifications: 2, firedAt: T0, resolvedAt: T0 + 36 * MIN });
  });

  it('a flapping condition opens new alerts but notifies at most once per debounce period', async () => {
    const { engine, reader, notices, at } = setup();
    engine.put({ ...rate, windowMinutes: 1 });
    const bad = (b: number) => reader.minutes.push({ app: 'shop', bucket: b, views: 10, errors: 5 });
    const good = (b: number) => reader.minutes.push({ app: 'shop', bucket: b, views: 10, errors: 0 });
    // Minute by minute: bad, good, bad, good, ... for 12 minutes.
    for (let i = 0; i < 12; i++) (i % 2 === 0 ? bad : good)(T0 + i * MIN);
    for (let i = 1; i <= 12; i++) await at(T0 + i * MIN);
    const firing = notices.filter((n) => n.kind === 'firing');
    // Fired at minute 1 and then only at minute 11 (10 minutes later), though it broke at 3, 5, 7, 9.
    expect(firing.map((n) => n.at)).toEqual([T0 + MIN, T0 + 11 * MIN]);
    expect(engine.alerts().length).toBe(6);
    expect(engine.alerts().filter((a) => a.notifications === 0)).toHaveLength(4);
  });

  it('sends nothing during a silence window; the still-firing alert notifies at the first evaluation after it', async () => {
    const { engine, minutes, notices, at } = setup();
    engine.put(rate);
    engine.put({ ...rate, id: 'other' });
    engine.addSilence({ ruleId: 'errors', from: T0 - MIN, to: T0 + 5 * MIN });
    minutes(T0 - 10 * MIN, T0 + 30 * MIN, { views: 100, errors: 5 });
    await at(T0);
    expect(notices.map((n) => n.ruleId)).toEqual(['other']); // only the silenced rule is quiet
    expect(engine.get('errors')!.open).toMatchObject({ state: 'firing', notifications: 0 });
    await at(T0 + 4 * MIN);
    expect(notices).toHaveLength(1);
    await at(T0 + 5 * MIN); // `to` is exclusive
    expect(notices.map((n) => n.ruleId)).toEqual(['other', 'errors']);
    expect(engine.listSilences()).toEqual([]); // ended silences are dropped
  });

  it('a silence without ruleId silences every rule of its app (or of every app)', async () => {
    const { engine, minutes, notices, at } = setup();
    engine.put(rate);
    engine.addSilence({ app: 'shop', from: new Date(T0 - MIN).toISOString(), to: T0 + MIN });
    minutes(T0 - 10 * MIN, T0, { views: 100, errors: 5 });
    await at(T0);
    expect(notices).toEqual([]);
    expect(engine.silenced(engine.get('errors')!.rule, T0 + MIN)).toBe(false);
  });

  it('after acknowledge: no more notifications until it resolves; the next breach is a new alert', async () => {
    const { engine, reader, notices, changes, at, minutes } = setup();
    engine.put({ ...rate, debounceMinutes: 1 });
    minutes(T0 - 10 * MIN, T0 + 20 * MIN, { views: 100, errors: 5 });
    await at(T0);
    const id = notices[0]!.alertId;
    expect(engine.acknowledge(id)).toMatchObject({ id, state: 'acknowledged', acknowledgedAt: T0 });
    expect(engine.acknowledge(id)).toMatchObject({ state: 'acknowledged', acknowledgedAt: T0 }); // idempotent
    for (let t = 1; t <= 10; t++) await at(T0 + t * MIN);
    expect(notices).toHaveLength(1);
    await at(T0 + 26 * MIN); // resolved
    expect(notices.map((n) => n.kind)).toEqual(['firing', 'resolved']);
    minutes(T0 + 26 * MIN, T0 + 30 * MIN, { views: 100, errors: 50 });
    reader.minutes = reader.minutes.filter((m) => m.bucket >= T0 + 26 * MIN);
    await at(T0 + 30 * MIN);
    expect(notices.map((n) => n.kind)).toEqual(['firing', 'resolved', 'firing']);
    expect(notices[2]!.alertId).not.toBe(id);
    expect(changes.map((c) => c.state)).toEqual(['firing', 'acknowledged', 'resolved', 'firing']);
    expect(engine.acknowledge('nope')).toBeUndefined();
  });

  it('a failing reader leaves the state as it was and records the error', async () => {
    const { engine, reader, minutes, notices, at } = setup();
    engine.put(rate);
    minutes(T0 - 10 * MIN, T0 + 10 * MIN, { views: 100, errors: 5 });
    await at(T0);
    reader.failWith = new Error('database is locked');
    await at(T0 + MIN);
    expect(engine.get('errors')).toMatchObject({ open: { state: 'firing' }, lastError: 'database is locked' });
    expect(notices).toHaveLength(1);
  });

  it('a paused rule is not evaluated; deleting a rule resolves its open alert without a notice', async () => {
    const { engine, reader, minutes, notices, at } = setup();
    engine.put({ ...rate, enabled: false });
    minutes(T0 - 10 * MIN, T0, { views: 100, errors: 5 });
    await at(T0);
    expect(reader.calls).toEqual([]);
    engine.put(rate);
    await at(T0);
    expect(engine.delete('errors')).toBe(true);
    expect(engine.delete('errors')).toBe(false);
    expect(engine.alerts()[0]!.state).toBe('resolved');
    expect(notices.map((n) => n.kind)).toEqual(['firing']);
  });
});

describe('alert rules: validation and bounds', () => {
  it('a bad rule is refused naming its field', () => {
    const { engine } = setup();
    const fieldOf = (r: unknown) => {
      try {
        engine.put(r);
      } catch (e) {
        expect(e).toBeInstanceOf(AlertInputError);
        return [(e as AlertInputError).field, (e as Error).message];
      }
      return undefined;
    };
    expect(fieldOf({ ...rate, threshold: 'high' })).toEqual(['threshold', 'threshold: must be a number']);
    expect(fieldOf({ ...rate, metric: 'cpu' })![0]).toBe('metric');
    expect(fieldOf({ ...rate, windowMinutes: 3000 })).toEqual(['windowMinutes', 'windowMinutes: at most 2880']);
    expect(fieldOf({ ...rate, webhooks: [{ url: 'ftp://x/y', format: 'slack' }] })).toEqual(['webhooks.0.url', 'webhooks.0.url: must be an http(s) URL']);
    expect(fieldOf({ ...rate, webhooks: [{ url: 'https://x/y', format: 'teams' }] })![0]).toBe('webhooks.0.format');
    expect(fieldOf({ ...rate, extra: 1 })![0]).toBe('(body)');
    expect(() => engine.addSilence({ from: T0, to: T0 - 1 })).toThrow('to: must be after from');
  });

  it('the option names the rule at fault: telemetry.alerts.rules.<i>.<field>', () => {
    const deps = { reader: new MemoryAggregates(), apiKeys: new ApiKeyGate(undefined, { failures: 1, per: 1 }, false), maxBodyBytes: 1024, logger: silentLogger };
    expect(() => createAlertsService({ rules: [rate, { ...rate, id: 'b', op: '!=' }] as never }, deps)).toThrow(/"telemetry\.alerts\.rules\.1\.op"/);
    expect(() => createAlertsService({ interval: 5 }, deps)).toThrow(/"telemetry\.alerts\.interval" must be an integer between 1000/);
    expect(() => createAlertsService({ allowPrivateTargets: 'yes' as never }, deps)).toThrow(/telemetry\.alerts\.allowPrivateTargets/);
  });

  it('holds at most maxRules rules and maxSilences silences; the history keeps the newest maxHistory alerts', async () => {
    const { engine, minutes, at } = setup({ maxRules: 2, maxHistory: 3, maxSilences: 1 });
    engine.put({ ...rate, windowMinutes: 1, debounceMinutes: 1 });
    engine.put({ ...rate, id: 'b' });
    engine.put({ ...rate, id: 'b', threshold: 3 }); // a replacement is not one more
    expect(() => engine.put({ ...rate, id: 'c' })).toThrow(AlertLimitError);
    engine.addSilence({ from: T0 + 100 * MIN, to: T0 + 200 * MIN });
    expect(() => engine.addSilence({ from: T0 + 100 * MIN, to: T0 + 200 * MIN })).toThrow('at most 1 silences');
    engine.delete('b');
    // Alternate bad and good minutes: an alert opens every other minute.
    for (let i = 0; i < 10; i++) minutes(T0 + 2 * i * MIN, T0 + (2 * i + 1) * MIN, { views: 10, errors: 5 });
    for (let i = 1; i <= 20; i++) await at(T0 + i * MIN);
    const kept = engine.alerts();
    expect(kept).toHaveLength(3);
    expect(kept.map((a) => a.firedAt)).toEqual([T0 + 19 * MIN, T0 + 17 * MIN, T0 + 15 * MIN]);
    expect(engine.acknowledge(kept[2]!.id)).toBeDefined();
  });

  it('Ring: push evicts the oldest at capacity, shift and newest-first iteration', () => {
    const r = new Ring<number>(3);
    expect([1, 2, 3].map((x) => r.push(x))).toEqual([undefined, undefined, undefined]);
    expect(r.push(4)).toBe(1);
    expect([...r.newest()]).toEqual([4, 3, 2]);
    expect(r.shift()).toBe(2);
    expect(r.size).toBe(2);
  });
});

describe('alerts service timer (injected timers)', () => {
  it('evaluates every interval, one round at a time, and stops on close', async () => {
    const pending: Array<{ fn: () => void; ms: number }> = [];
    const timers = { setTimeout: (fn: () => void, ms: number) => pending.push({ fn, ms }), clearTimeout: () => pending.splice(0) };
    const reader = new MemoryAggregates();
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const summary = reader.summary.bind(reader);
    reader.summary = async (f) => {
      await slow;
      return summary(f);
    };
    const service = createAlertsService(
      { rules: [rate], interval: 60_000, timers, now: () => T0 },
      { reader, apiKeys: new ApiKeyGate(undefined, { failures: 1, per: 1 }, false), maxBodyBytes: 1024, logger: silentLogger },
    );
    expect(pending.map((p) => p.ms)).toEqual([60_000]);
    pending.shift()!.fn();
    // The round is still running: no next round is scheduled until it ends.
    await new Promise((r) => setTimeout(r, 5));
    expect(pending).toEqual([]);
    release();
    await new Promise((r) => setTimeout(r, 5));
    expect(pending.map((p) => p.ms)).toEqual([60_000]);
    expect(reader.calls.filter(([m]) => m === 'summary')).toHaveLength(1);
    service.close();
    expect(pending).toEqual([]);
  });
});
