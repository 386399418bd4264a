import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, TELEMETRY_TOPIC } from '../../server/src/index';
import { API_KEY, cleanup, client, onCleanup, signToken, startServer, waitFor, waitForState } from '../support/harness';
import { MemoryAggregates } from './memory-aggregates';
import { webhookReceiver } from '../support/receiver';

const MIN = 60_000;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdkrt-alerts-'));
});
afterEach(async () => {
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

const receiver = webhookReceiver;

/** A server with alerts on a fake clock and captured evaluation timer: `round()` runs one evaluation. */
async function alertsServer(hookUrl: string) {
  const reader = new MemoryAggregates();
  const clock = { now: Date.UTC(2026, 0, 1, 12, 0, 0) };
  const rounds: Array<() => void> = [];
  const timers = {
    setTimeout: (fn: () => void, ms: number) => {
      if (ms === 60_000) rounds.push(fn);
      return setTimeout(ms === 60_000 ? () => {} : fn, ms === 60_000 ? 0 : ms);
    },
    clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
  };
  const server = await startServer({
    telemetry: {
      dir,
      aggregates: reader,
      alerts: {
        rules: [{ id: 'errors', app: 'shop', metric: 'error_rate', threshold: 2, webhooks: [{ url: hookUrl, format: 'slack', secret: 'hush' }] }],
        allowPrivateTargets: true,
        now: () => clock.now,
        timers,
      },
    },
  });
  for (let b = clock.now - 10 * MIN; b < clock.now + 10 * MIN; b += MIN) reader.minutes.push({ app: 'shop', bucket: b, views: 100, errors: 10 });
  const round = async () => {
    const before = reader.calls.length;
    rounds.shift()!();
    await waitFor(() => reader.calls.length > before && rounds.length > 0, 'an evaluation round');
  };
  return { server, reader, clock, round };
}

async function api(server: { httpUrl: string }, method: string, path: string, body?: unknown, key: string | null = API_KEY) {
  const res = await fetch(`${server.httpUrl}/api/telemetry/alerts${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
}

describe('alerts admin API (/api/telemetry/alerts)', () => {
  it('takes the server API key: missing or wrong → 401; a server without apiKey → 404', async () => {
    const hook = await receiver();
    const { server } = await alertsServer(hook.url);
    expect((await api(server, 'GET', '/rules', undefined, null)).status).toBe(401);
    expect((await api(server, 'GET', '/rules', undefined, 'wrong')).body.error).toMatchObject({ code: 'unauthorized', message: 'wrong API key' });
    const keyless = await createServer({ port: 0, jwtSecret: 'x'.repeat(32), logger: false, telemetry: { dir, aggregates: new MemoryAggregates(), alerts: {} } });
    onCleanup(() => keyless.close());
    expect((await api(keyless, 'GET', '/rules')).status).toBe(404);
  });

  it('lists rules with webhook credentials redacted; PUT validates naming the field; DELETE removes', async () => {
    const hook = await receiver();
    const { server } = await alertsServer(hook.url);
    const list = await api(server, 'GET', '/rules');
    expect(list.status).toBe(200);
    expect(list.body.rules[0].rule).toMatchObject({ id: 'errors', op: '>', windowMinutes: 5, debounceMinutes: 30, webhooks: [{ url: new URL(hook.url).origin + '/…', format: 'slack', secret: '[set]' }] });
    expect(JSON.stringify(list.body)).not.toContain('hush');

    const bad = await api(server, 'PUT', '/rules/p95', { app: 'shop', metric: 'api_p95', threshold: 'slow' });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'bad_request', field: 'threshold', message: 'threshold: must be a number' } } });
    expect((await api(server, 'PUT', '/rules/p95', { id: 'other', app: 'shop', metric: 'api_p95', threshold: 1500 })).body.error.field).toBe('id');
    const put = await api(server, 'PUT', '/rules/p95', { app: 'shop', metric: 'api_p95', threshold: 1500 });
    expect(put).toMatchObject({ status: 200, body: { rule: { id: 'p95', metric: 'api_p95', threshold: 1500 } } });
    expect((await api(server, 'GET', '/rules')).body.rules).toHaveLength(2);
    expect((await api(server, 'DELETE', '/rules/p95')).status).toBe(204);
    expect((await api(server, 'DELETE', '/rules/p95')).status).toBe(404);
    expect((await api(server, 'POST', '/rules')).status).toBe(405);
    expect((await api(server, 'GET', '/nothing')).status).toBe(404);
  });

  it('fires a webhook, lists the alert, acknowledges it, and tells $telemetry subscribers each change', async () => {
    const hook = await receiver();
    const { server, round } = await alertsServer(hook.url);
    const c = client({ url: server.url, app: 'shop', token: await signToken('ops') });
    const live: any[] = [];
    c.subscribe(TELEMETRY_TOPIC, (m) => live.push(m.data));
    c.connect();
    await waitForState(c, 'connected');
    await new Promise((r) => setTimeout(r, 100));

    await round();
    await waitFor(() => hook.bodies.length === 1, 'the webhook');
    expect(hook.bodies[0]).toMatchObject({ text: '[FIRING] errors: error_rate 10% > 2% over 5 min (app shop)' });
    const history = await api(server, 'GET', '/history?app=shop');
    expect(history.body.alerts).toHaveLength(1);
    const alert = history.body.alerts[0];
    expect(alert).toMatchObject({ ruleId: 'errors', state: 'firing', value: 10, notifications: 1 });
    await expect.poll(async () => (await api(server, 'GET', '/history')).body.alerts[0].delivered).toBe(1);

    const ack = await api(server, 'POST', `/history/${alert.id}/ack`);
    expect(ack).toMatchObject({ status: 200, body: { alert: { id: alert.id, state: 'acknowledged' } } });
    expect((await api(server, 'POST', '/history/nope/ack')).status).toBe(404);
    await waitFor(() => live.length === 2, 'two $telemetry messages');
    expect(live.map((m) => [m.type, m.state, m.ruleId])).toEqual([
      ['alert', 'firing', 'errors'],
      ['alert', 'acknowledged', 'errors'],
    ]);
    expect(live[0]).toEqual({ type: 'alert', app: 'shop', alertId: alert.id, ruleId: 'errors', state: 'firing', at: expect.any(Number) });
    expect((await api(server, 'GET', '/history?limit=0')).body.error.field).toBe('limit');
  });

  it('silences: POST validates and creates, GET lists, DELETE removes; a silenced rule sends nothing', async () => {
    const hook = await receiver();
    const { server, clock, round } = await alertsServer(hook.url);
    expect((await api(server, 'POST', '/silences', { from: clock.now, to: clock.now - 1 })).body.error).toMatchObject({ field: 'to' });
    const made = await api(server, 'POST', '/silences', { ruleId: 'errors', from: clock.now - MIN, to: new Date(clock.now + 5 * MIN).toISOString(), comment: 'deploy' });
    expect(made).toMatchObject({ status: 201, body: { silence: { ruleId: 'errors', to: clock.now + 5 * MIN, comment: 'deploy' } } });
    expect((await api(server, 'GET', '/silences')).body.silences).toHaveLength(1);
    await round();
    await new Promise((r) => setTimeout(r, 100));
    expect(hook.bodies).toEqual([]);
    expect((await api(server, 'GET', '/history')).body.alerts[0]).toMatchObject({ state: 'firing', notifications: 0 });
    expect((await api(server, 'DELETE', `/silences/${made.body.silence.id}`)).status).toBe(204);
    await round();
    await waitFor(() => hook.bodies.length === 1, 'the webhook after the silence');
  });

  it('server.aggregatesUpdated(app) publishes { type: "aggregates" } on $telemetry, throttled to one a second per app with the last change kept', async () => {
    const server = await startServer({ telemetry: { dir } });
    const c = client({ url: server.url, app: 'shop', token: await signToken('ops') });
    const live: any[] = [];
    c.subscribe(TELEMETRY_TOPIC, (m) => live.push(m.data));
    c.connect();
    await waitForState(c, 'connected');
    await new Promise((r) => setTimeout(r, 100));
    server.aggregatesUpdated('shop');
    server.aggregatesUpdated('shop');
    server.aggregatesUpdated('shop');
    await waitFor(() => live.length === 1, 'the first message');
    await waitFor(() => live.length === 2, 'the trailing message', 3000);
    expect(live.map((m) => [m.type, m.app])).toEqual([
      ['aggregates', 'shop'],
      ['aggregates', 'shop'],
    ]);
    expect(live[1].at - live[0].at).toBeGreaterThanOrEqual(990);
  });

  it('with one API key per app, a key administers only its own apps (rules, history, ack, silences, dashboard tokens)', async () => {
    const reader = new MemoryAggregates();
    const clock = { now: Date.UTC(2026, 0, 1, 12, 0, 0) };
    for (const app of ['shop', 'blog']) for (let b = clock.now - 10 * MIN; b < clock.now; b += MIN) reader.minutes.push({ app, bucket: b, views: 100, errors: 10 });
    const rounds: Array<() => void> = [];
    const server = await startServer({
      apiKey: { shop: 'shop-key', blog: 'blog-key' },
      telemetry: {
        dir,
        aggregates: reader,
        dashboard: true,
        alerts: {
          rules: ['shop', 'blog'].map((app) => ({ id: app, app, metric: 'error_rate' as const, threshold: 2 })),
          now: () => clock.now,
          timers: { setTimeout: (fn: () => void) => rounds.push(fn), clearTimeout: () => {} },
        },
      },
    });
    expect((await api(server, 'GET', '/rules', undefined, 'shop-key')).body.rules.map((r: any) => r.rule.id)).toEqual(['shop']);
    expect((await api(server, 'GET', '/rules/blog', undefined, 'shop-key')).status).toBe(404);
    expect((await api(server, 'DELETE', '/rules/blog', undefined, 'shop-key')).status).toBe(404);
    expect((await api(server, 'PUT', '/rules/blog', { app: 'shop', metric: 'api_p95', threshold: 1 }, 'shop-key')).status).toBe(404); // no taking it over
    expect((await api(server, 'PUT', '/rules/new', { app: 'blog', metric: 'api_p95', threshold: 1 }, 'shop-key'))).toMatchObject({ status: 403, body: { error: { field: 'app' } } });
    expect((await api(server, 'PUT', '/rules/new', { app: 'shop', metric: 'api_p95', threshold: 1 }, 'shop-key')).status).toBe(200);

    rounds.shift()!();
    await waitFor(() => reader.calls.filter(([m]) => m === 'summary').length >= 3, 'an evaluation round');
    await waitFor(() => rounds.length > 0, 'the round to end');
    expect((await api(server, 'GET', '/history', undefined, 'shop-key')).body.error.field).toBe('app');
    expect((await api(server, 'GET', '/history?app=blog', undefined, 'shop-key')).body.alerts).toEqual([]);
    const blogAlert = (await api(server, 'GET', '/history?app=blog', undefined, 'blog-key')).body.alerts[0];
    expect(blogAlert).toMatchObject({ app: 'blog', state: 'firing' });
    expect((await api(server, 'POST', `/history/${blogAlert.id}/ack`, undefined, 'shop-key')).status).toBe(404);
    expect((await api(server, 'POST', `/history/${blogAlert.id}/ack`, undefined, 'blog-key')).body.alert.state).toBe('acknowledged');

    const window = { from: clock.now, to: clock.now + MIN };
    expect((await api(server, 'POST', '/silences', window, 'shop-key')).status).toBe(403); // would silence every app
    expect((await api(server, 'POST', '/silences', { ...window, app: 'blog' }, 'shop-key')).status).toBe(403);
    const mine = await api(server, 'POST', '/silences', { ...window, app: 'shop' }, 'shop-key');
    expect(mine.status).toBe(201);
    expect((await api(server, 'GET', '/silences', undefined, 'blog-key')).body.silences).toEqual([]);
    expect((await api(server, 'DELETE', `/silences/${mine.body.silence.id}`, undefined, 'blog-key')).status).toBe(404);

    const token = (key: string, app: string) =>
      fetch(server.httpUrl + '/dashboard/token', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ app }) });
    expect((await token('shop-key', 'shop')).status).toBe(200);
    expect((await token('shop-key', 'blog')).status).toBe(401);
  });

  it('refuses telemetry.alerts without telemetry.aggregates, and a bad rule naming it', async () => {
    await expect(startServer({ telemetry: { dir, alerts: {} } })).rejects.toThrow('"telemetry.alerts" needs "telemetry.store"');
    await expect(
      startServer({ telemetry: { dir, aggregates: new MemoryAggregates(), alerts: { rules: [{ id: 'x', app: 'a', metric: 'error_rate', threshold: 1, windowMinutes: 0 }] } } }),
    ).rejects.toThrow('"telemetry.alerts.rules.0.windowMinutes"');
    await expect(startServer({ telemetry: { dir, dashboard: { pollInterval: 1 } } })).rejects.toThrow('telemetry.dashboard.pollInterval');
  });
});
