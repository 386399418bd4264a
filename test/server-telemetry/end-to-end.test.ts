import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TELEMETRY_TOPIC, sqliteStore } from '../../server/src/index';
import { API_KEY, cleanup, client, signToken, startServer, waitFor, waitForState } from '../support/harness';
import { webhookReceiver } from '../support/receiver';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdkrt-e2e-'));
});
afterEach(async () => {
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

const event = (type: string, name: string, ts: number, props: Record<string, unknown> = {}) => ({
  app: 'shop',
  env: 'production',
  release: '1.0.0',
  userId: 'u1',
  sessionId: 's1',
  type,
  name,
  props,
  ts,
  rate: 1,
});

/**
 * The whole telemetry backend on real parts: events over HTTP into a SQLite file, a rollup, the
 * aggregates API, `$telemetry` telling a connected dashboard to read again, and an alert rule on
 * the store's own aggregates firing a webhook at a local receiver.
 */
describe('telemetry backend end to end (SQLite store, aggregates, live update, alert webhook)', () => {
  it('ingested events reach the aggregates, dashboards hear of the rollup, and an error-rate rule fires its webhook', async () => {
    const { url: hookUrl, bodies: hooks } = await webhookReceiver();

    // Rollups by hand (`rollup()`), so the test decides when aggregates change.
    const store = sqliteStore({ file: join(dir, 'telemetry.db'), rollupInterval: 0, flushInterval: 20 });
    const server = await startServer({
      telemetry: {
        store,
        dashboard: true,
        alerts: {
          rules: [{ id: 'errors', app: 'shop', metric: 'error_rate', threshold: 2, windowMinutes: 5, webhooks: [{ url: hookUrl, format: 'json' }] }],
          allowPrivateTargets: true,
          interval: 1000,
        },
      },
    });

    const dashboard = client({ url: server.url, app: 'shop', token: await signToken('ops') });
    const live: Array<{ type: string; app: string }> = [];
    dashboard.subscribe(TELEMETRY_TOPIC, (m) => live.push(m.data as { type: string; app: string }));
    dashboard.connect();
    await waitForState(dashboard, 'connected');

    // Ten page views and two errors, in the minute before this one (alert windows are whole minutes).
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const events = [
      ...Array.from({ length: 10 }, (_, i) => event('page', '/cart', minute + i * 1000)),
      event('error', 'TypeError', minute + 20_000, { message: 'x is undefined', stack: 'at cart.js:10:5' }),
      event('error', 'TypeError', minute + 21_000, { message: 'x is undefined', stack: 'at cart.js:10:5' }),
    ];
    const post = await fetch(`${server.httpUrl}/api/telemetry/batch`, { method: 'POST', body: JSON.stringify({ v: 1, events }) });
    expect(post.status).toBe(202);
    await store.flush();
    await store.rollup();

    await waitFor(() => live.some((m) => m.type === 'aggregates' && m.app === 'shop'), '$telemetry told of the rollup');

    const summary = await fetch(
      `${server.httpUrl}/api/telemetry/aggregates?app=shop&kind=summary&from=${minute}&to=${minute + 60_000}`,
      { headers: { authorization: `Bearer ${API_KEY}` } },
    ).then((r) => r.json() as Promise<{ summary: { views: number; errors: number; sessions: number } }>);
    expect(summary.summary).toMatchObject({ views: 10, errors: 2, sessions: 1 });

    // 2 errors / 10 views = 20% > 2%: the rule fires on the store's own minute buckets.
    await waitFor(() => hooks.length > 0, 'the alert webhook', 10_000);
    expect(JSON.stringify(hooks[0])).toContain('errors');
    const history = await fetch(`${server.httpUrl}/api/telemetry/alerts/history?app=shop`, { headers: { authorization: `Bearer ${API_KEY}` } }).then(
      (r) => r.json() as Promise<{ alerts: Array<{ ruleId: string; state: string }> }>,
    );
    expect(history.alerts[0]).toMatchObject({ ruleId: 'errors', state: 'firing' });
    await waitFor(() => live.some((m) => m.type === 'alert'), '$telemetry told of the alert');

    // The dashboard page itself is served with the store behind it.
    expect((await fetch(`${server.httpUrl}/dashboard`)).status).toBe(200);
  });
});
