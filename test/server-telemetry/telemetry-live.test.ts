import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../server/src/logger';
import type { PublishTarget } from '../../server/src/publish';
import { TELEMETRY_TOPIC, TelemetryLive } from '../../server/src/telemetry/dashboard/live';

/** TelemetryLive on a fake clock and timers: what it published, and the timers it set. */
function setup(o: { maxApps?: number } = {}) {
  const clock = { now: 1_000_000 };
  const timers: Array<{ fn: () => void; at: number; cleared?: boolean }> = [];
  const sent: Array<[string, PublishTarget]> = [];
  const live = new TelemetryLive(
    async (app, target) => {
      sent.push([app, target]);
    },
    silentLogger,
    {
      minInterval: 1000,
      now: () => clock.now,
      timers: {
        setTimeout: (fn, ms) => timers.push({ fn, at: clock.now + ms }),
        clearTimeout: (h) => {
          timers[(h as number) - 1]!.cleared = true;
        },
      },
      ...o,
    },
  );
  /** Move the clock, firing due timers. */
  const advance = (ms: number) => {
    clock.now += ms;
    for (const t of timers) if (!t.cleared && t.at <= clock.now) {
      t.cleared = true;
      t.fn();
    }
  };
  return { live, sent, timers, advance, clock };
}

describe('TelemetryLive ($telemetry topic)', () => {
  it('sends the first update at once, then at most one per minInterval per app, the last change kept', () => {
    const { live, sent, advance } = setup();
    live.aggregatesUpdated('shop');
    live.aggregatesUpdated('shop');
    live.aggregatesUpdated('blog');
    live.aggregatesUpdated('shop');
    expect(sent.map(([app]) => app)).toEqual(['shop', 'blog']);
    expect(sent[0]).toEqual(['shop', { eventTopics: [TELEMETRY_TOPIC], data: { type: 'aggregates', app: 'shop', at: 1_000_000 } }]);
    advance(999);
    expect(sent).toHaveLength(2);
    advance(1);
    expect(sent.map(([app]) => app)).toEqual(['shop', 'blog', 'shop']);
    advance(5000);
    expect(sent).toHaveLength(3); // nothing changed since
    live.aggregatesUpdated('shop');
    expect(sent).toHaveLength(4); // long enough after the last: at once
  });

  it('alerts are sent at once with ids and state only', () => {
    const { live, sent } = setup();
    live.alert({ id: 'a1', ruleId: 'r', app: 'shop', metric: 'error_rate', op: '>', threshold: 2, state: 'firing', value: 5, firedAt: 1, notifications: 0, delivered: 0, failed: 0 });
    expect(sent[0]![1].data).toEqual({ type: 'alert', app: 'shop', alertId: 'a1', ruleId: 'r', state: 'firing', at: 1_000_000 });
  });

  it('holds at most maxApps apps: the least recently updated is forgotten, its pending update sent first', () => {
    const { live, sent, advance } = setup({ maxApps: 2 });
    live.aggregatesUpdated('a');
    advance(10);
    live.aggregatesUpdated('a'); // pending trailing update for a
    live.aggregatesUpdated('b');
    live.aggregatesUpdated('c'); // evicts a, sending its pending update now
    expect(sent.map(([app]) => app)).toEqual(['a', 'b', 'c', 'a']);
    advance(2000);
    expect(sent).toHaveLength(4); // a's timer was cleared
    live.close();
    live.aggregatesUpdated('d');
    expect(sent).toHaveLength(4);
  });
});
