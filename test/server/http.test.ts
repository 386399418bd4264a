import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Raw, cleanup, notify, startServer } from './helpers';

afterEach(cleanup);

describe('POST /notify', () => {
  it.each([
    [{ users: ['u1'], data: 1 }, 'appId'],
    [{ appId: '', users: ['u1'], data: 1 }, 'appId'],
    [{ appId: 'shop', users: [''], data: 1 }, 'users.0'],
    [{ appId: 'shop', users: ['ok', 5], data: 1 }, 'users.1'],
    [{ appId: 'shop', devices: 'd1', data: 1 }, 'devices'],
    [{ appId: 'shop', eventTopics: ['t'] }, 'data'],
    [{ appId: 'shop', data: 1 }, 'eventTopics'],
    [{ appId: 'shop', users: [], eventTopics: [], data: 1 }, 'eventTopics'],
    [{ appId: 'shop', users: Array.from({ length: 1001 }, (_, i) => `u${i}`), data: 1 }, 'users'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const server = await startServer();
    const res = await notify(server, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'bad_request', field });
    expect(typeof res.body.error.message).toBe('string');
  });

  it('answers 400 for a body that is not JSON', async () => {
    const server = await startServer();
    const res = await notify(server, '{"appId": ');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
  });

  it('answers 401 without or with a wrong key, and checks per-app keys', async () => {
    const server = await startServer();
    const body = { appId: 'shop', users: ['u1'], data: 1 };
    expect((await notify(server, body, null)).status).toBe(401);
    expect((await notify(server, body, 'wrong')).status).toBe(401);
    expect((await notify(server, body)).status).toBe(200);

    const perApp = await startServer({ apiKey: { shop: 'shop-key', forum: 'forum-key' } });
    expect((await notify(perApp, body, 'shop-key')).status).toBe(200);
    expect((await notify(perApp, body, 'forum-key')).status).toBe(401);
    expect((await notify(perApp, { ...body, appId: 'blog' }, 'shop-key')).status).toBe(401);
  });

  it('answers 403 for an app outside `apps`', async () => {
    const server = await startServer({ apps: ['forum'] });
    expect((await notify(server, { appId: 'shop', users: ['u1'], data: 1 })).status).toBe(403);
  });

  it('answers 413 for a body over the limit', async () => {
    const server = await startServer({ maxBodyBytes: 1024 });
    const res = await notify(server, { appId: 'shop', users: ['u1'], data: 'x'.repeat(2048) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('too_large');
  });

  it('answers 429 with Retry-After over the per-app rate', async () => {
    const server = await startServer({ notifyRateLimit: { requests: 2, per: 10_000 } });
    const body = { appId: 'shop', users: ['u1'], data: 1 };
    expect((await notify(server, body)).status).toBe(200);
    expect((await notify(server, body)).status).toBe(200);
    const limited = await notify(server, body);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another app has its own budget.
    expect((await notify(server, { ...body, appId: 'forum' })).status).toBe(200);
  });

  it('answers 200 with id, delivered and per-stream offsets', async () => {
    const server = await startServer();
    await Raw.connected(server, 'u1');
    const res = await notify(server, { appId: 'shop', users: ['u1', 'u2'], eventTopics: ['t'], data: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ delivered: 1, streams: { t: 1, 'user:u1': 1, 'user:u2': 1 } });
    expect(typeof res.body.id).toBe('string');
  });

  it('answers CORS preflight from any origin in dev mode', async () => {
    const server = await startServer({ dev: true });
    const res = await fetch(`${server.httpUrl}/notify`, {
      method: 'OPTIONS',
      headers: { origin: 'http://example.test', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
  });
});

describe('other HTTP endpoints', () => {
  it('serves /healthz', async () => {
    const server = await startServer();
    const res = await fetch(`${server.httpUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('serves Prometheus metrics', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1');
    raw.send('garbage');
    await raw.next((f) => f.t === 'error');
    await notify(server, { appId: 'shop', users: ['u1'], data: 1 });
    await notify(server, { appId: 'shop', data: 1 });
    await raw.next((f) => f.t === 'msg');
    const res = await fetch(`${server.httpUrl}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^sdk_realtime_connections 1$/m);
    expect(text).toMatch(/^sdk_realtime_messages_published_total 1$/m);
    expect(text).toMatch(/^sdk_realtime_messages_delivered_total 1$/m);
    expect(text).toMatch(/^sdk_realtime_errors_total\{code="bad_frame"\} 1$/m);
    expect(text).toMatch(/^sdk_realtime_notify_requests_total\{status="200"\} 1$/m);
    expect(text).toMatch(/^sdk_realtime_notify_requests_total\{status="400"\} 1$/m);
    expect(text).toMatch(/^sdk_realtime_frames_in_total \d+$/m);
  });

  it('mints dev tokens only in dev mode, and they connect', async () => {
    const prod = await startServer();
    expect((await fetch(`${prod.httpUrl}/dev/token`, { method: 'POST', body: '{}' })).status).toBe(404);

    const dev = await startServer({ dev: true, jwtSecret: undefined });
    const bad = await fetch(`${dev.httpUrl}/dev/token`, { method: 'POST', body: JSON.stringify({ app: 'shop' }) });
    expect(bad.status).toBe(400);
    const res = await fetch(`${dev.httpUrl}/dev/token`, {
      method: 'POST',
      body: JSON.stringify({ app: 'shop', user: 'dev-user', device: 'd9' }),
    });
    const { token } = await res.json();
    const { reply } = await Raw.connected(dev, 'ignored', { token, device: 'd9' });
    expect(reply.result).toMatchObject({ user: 'dev-user', device: 'd9' });
  });

  it('serves the demo page when demo is on', async () => {
    const server = await startServer({ demo: true });
    const page = await fetch(`${server.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("from '/sdk-realtime.js'");
    const off = await startServer();
    expect((await fetch(`${off.httpUrl}/`)).status).toBe(404);
  });

  it('serves static files confined to their directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sdk-rt-static-'));
    writeFileSync(join(dir, 'index.html'), '<h1>hi</h1>');
    writeFileSync(join(dir, 'app.js'), 'export {}');
    const server = await startServer({ serveStatic: dir });
    const index = await fetch(`${server.httpUrl}/`);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toBe('<h1>hi</h1>');
    expect((await fetch(`${server.httpUrl}/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.httpUrl}/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
    expect((await fetch(`${server.httpUrl}/missing.js`)).status).toBe(404);
  });
});

describe('options and lifecycle', () => {
  it.each([
    [{ port: -1 }, 'port'],
    [{ port: 1.5 }, 'port'],
    [{ jwtSecret: undefined }, 'jwtSecret'],
    [{ apiKey: 42 }, 'apiKey'],
    [{ apiKey: { shop: '' } }, 'apiKey.shop'],
    [{ apps: ['ok', ''] }, 'apps'],
    [{ pingInterval: 0 }, 'pingInterval'],
    [{ history: { size: -1 } }, 'history.size'],
    [{ rateLimit: { frames: 0 } }, 'rateLimit.frames'],
    [{ maxFrameBytes: 'big' }, 'maxFrameBytes'],
    [{ canPublish: true }, 'canPublish'],
    [{ methods: { x: 1 } }, 'methods.x'],
    [{ logger: 'console' }, 'logger'],
    [{ dev: 'yes' }, 'dev'],
  ])('throws a TypeError naming the option for %j', async (bad, name) => {
    const options = { port: 0, jwtSecret: 's', logger: false as const, ...bad };
    const error = await startServer(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain(`"${name}"`);
  });

  it('close() sends every client a 4004 close frame with reconnect, and is idempotent', async () => {
    const server = await startServer();
    const { raw } = await Raw.connected(server, 'u1');
    const closing = Promise.all([server.close(), server.close()]);
    expect((await raw.closed).code).toBe(4004);
    expect(raw.of('close')[0]).toMatchObject({ code: 4004, reconnect: true });
    await closing;
    await server.close();
    await expect(fetch(`${server.httpUrl}/healthz`)).rejects.toThrow();
  });

  it('reports its urls and port', async () => {
    const server = await startServer();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}/ws`);
    expect(server.httpUrl).toBe(`http://127.0.0.1:${server.port}`);
  });
});
