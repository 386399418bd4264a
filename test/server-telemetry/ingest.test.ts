import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer } from '../../server/src/index';
import { fileSink } from '../../server/src/telemetry/sink';
import { fnv1a } from '../../src/telemetry/hash';
import { realtimeSender } from '../../src/telemetry/senders/realtime';
import { createTelemetry } from '../../src/telemetry/tracker';
import { cleanup, client, signToken, startServer, waitFor, waitForState } from '../support/harness';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdkrt-telemetry-'));
});
afterEach(async () => {
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

const event = (over: Record<string, unknown> = {}) => ({
  app: 'shop', env: 'test', release: '1.0.0', userId: null, sessionId: 's1',
  type: 'event', name: 'click', props: {}, ts: Date.now(), rate: 1, ...over,
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/api/telemetry/batch`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

/** Every event line of today's NDJSON files. */
async function stored(): Promise<any[]> {
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.ndjson')).sort();
  const lines: any[] = [];
  for (const f of files) for (const l of (await readFile(join(dir, f), 'utf8')).split('\n')) if (l) lines.push(JSON.parse(l));
  return lines;
}

describe('POST /api/telemetry/batch', () => {
  it('accepts a batch (text/plain, as sendBeacon posts it) and appends scrubbed events to the day file', async () => {
    const server = await startServer({ telemetry: { dir, config: { deny: ['card'] } } });
    const r = await post(server.httpUrl, {
      v: 1,
      events: [
        event({ name: 'mail alice@example.com', userId: 'bob@example.com', props: { ip: '203.0.113.9', card: '4111', password: 'x', tel: '13800138000' } }),
        event({ type: 'page', name: '/home' }),
      ],
    });
    expect(r).toMatchObject({ status: 202, body: { accepted: 2 } });
    const files = await readdir(dir);
    expect(files).toEqual([`telemetry-${new Date().toISOString().slice(0, 10)}.ndjson`]);
    const [a, b] = await stored();
    expect(a.name).toBe(`mail email:${fnv1a('alice@example.com')}`);
    expect(a.userId).toBe(`email:${fnv1a('bob@example.com')}`);
    expect(a.props).toEqual({ ip: '203.0.113.0', tel: `phone:${fnv1a('13800138000')}` });
    expect(a.receivedAt).toBeGreaterThan(0);
    expect(b).toMatchObject({ type: 'page', name: '/home', app: 'shop' });
  });

  it.each([
    [{ events: [event({ type: 'click' })] }, 'events.0.type'],
    [{ events: [event({ ts: 'now' })] }, 'events.0.ts'],
    [{ events: [event({ app: '' })] }, 'events.0.app'],
    [{ events: [event({ rate: 2 })] }, 'events.0.rate'],
    [{ events: [] }, 'events'],
    [{}, 'events'],
    [{ v: 2, events: [event()] }, 'v'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const server = await startServer({ telemetry: { dir } });
    const r = await post(server.httpUrl, body);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'bad_request', field });
    expect(r.body.error.message).toContain(field);
  });

  it('answers 400 for a body that is not JSON, 413 over maxBodyBytes, 405 for GET, 403 for an app not allowed', async () => {
    const server = await startServer({ apps: ['shop'], telemetry: { dir, maxBodyBytes: 2048 } });
    expect((await post(server.httpUrl, '{nope')).status).toBe(400);
    const big = await post(server.httpUrl, { events: [event({ props: { pad: 'x'.repeat(4000) } })] });
    expect(big).toMatchObject({ status: 413, body: { error: { code: 'too_large' } } });
    expect((await fetch(`${server.httpUrl}/api/telemetry/batch`)).status).toBe(405);
    const other = await post(server.httpUrl, { events: [event(), event({ app: 'other' })] });
    expect(other).toMatchObject({ status: 403, body: { error: { field: 'events.1.app' } } });
    expect(await stored()).toEqual([]);
  });

  it('rate limits per IP and per user with 429 and Retry-After', async () => {
    const server = await startServer({ telemetry: { dir, ipRateLimit: { requests: 3, per: 60_000 }, userRateLimit: { requests: 2, per: 60_000 } } });
    const u1 = { events: [event({ userId: 'u1' })] };
    expect((await post(server.httpUrl, u1)).status).toBe(202);
    expect((await post(server.httpUrl, u1)).status).toBe(202);
    const limited = await post(server.httpUrl, u1);
    expect(limited.status).toBe(429);
    expect(limited.body.error.message).toMatch(/user/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const ip = await post(server.httpUrl, { events: [event({ userId: 'u2' })] });
    expect(ip.status).toBe(429);
    expect(ip.body.error.message).toMatch(/address/);
    expect((await stored()).length).toBe(2);
  });

  it('is off unless enabled', async () => {
    const server = await startServer();
    expect((await post(server.httpUrl, { events: [event()] })).status).toBe(404);
  });

  it('validates its options with a TypeError naming the field', async () => {
    await expect(createServer({ dev: true, logger: false, port: 0, telemetry: { maxEvents: 0 } })).rejects.toThrow('"telemetry.maxEvents"');
    await expect(createServer({ dev: true, logger: false, port: 0, telemetry: { config: { sampleRate: 3 } } })).rejects.toThrow(
      '"telemetry.config.sampleRate"',
    );
    await expect(createServer({ dev: true, logger: false, port: 0, telemetry: 'yes' as any })).rejects.toThrow('"telemetry"');
  });
});

describe('GET /api/telemetry/config and CORS', () => {
  it('serves the remote config from the server options', async () => {
    const server = await startServer({ telemetry: { dir, config: { sampleRate: 0.25, deny: ['card'], plugins: ['errors'] } } });
    const res = await fetch(`${server.httpUrl}/api/telemetry/config`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ enabled: true, sampleRate: 0.25, deny: ['card'], plugins: ['errors'] });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('answers the CORS preflight like /notify', async () => {
    const server = await startServer({ telemetry: { dir } });
    const res = await fetch(`${server.httpUrl}/api/telemetry/batch`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.example', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toContain('content-type');
  });
});

describe('end to end', () => {
  it('createTelemetry (fetch sender, remote config) → server → NDJSON file', async () => {
    const server = await startServer({ telemetry: { dir, config: { deny: ['secretish'] } } });
    const t = createTelemetry({ endpoint: server.httpUrl, app: 'shop', env: 'e2e', release: '2.0.0', storage: false, spacing: 0 });
    await t.ready;
    t.setUser('user-1');
    t.trackPageView('/checkout', { step: 2, secretish: 'x' });
    t.trackError(new Error('payment failed for carol@example.com'));
    t.trackApi('POST /orders', { status: 201, duration: 42 });
    await t.flush();
    t.stop();
    const lines = await stored();
    expect(lines.map((l) => [l.type, l.name])).toEqual([
      ['page', '/checkout'],
      ['error', 'Error'],
      ['api', 'POST /orders'],
    ]);
    expect(lines[0]).toMatchObject({ app: 'shop', env: 'e2e', release: '2.0.0', userId: 'user-1', props: { step: 2 }, sessionId: t.sessionId });
    expect(lines[0].props.secretish).toBeUndefined();
    expect(lines[1].props.message).toBe(`payment failed for email:${fnv1a('carol@example.com')}`);
    expect(t.stats()).toMatchObject({ sent: 3, queued: 0 });
  });

  it('uploads over the realtime connection with the telemetry.batch RPC', async () => {
    const server = await startServer({ telemetry: { dir } });
    const c = client({ url: server.url, app: 'shop', token: await signToken('rt-user') });
    c.connect();
    await waitForState(c, 'connected');
    const t = createTelemetry({ app: 'shop', sender: realtimeSender(c), storage: false, remoteConfig: false });
    t.trackEvent('over-ws', { n: 1 });
    await t.flush();
    await waitFor(() => t.stats().sent === 1, 'sent over ws');
    const [line] = await stored();
    expect(line).toMatchObject({ name: 'over-ws', props: { n: 1 } });
    // Bad params answer bad_request, which the sender maps to a 400 (dropped, not retried).
    await expect(c.request('telemetry.batch', { events: [] })).rejects.toMatchObject({ code: 'bad_request' });
    t.stop();
  });

  it('tells a rate-limited realtime uploader how long to wait (retryAfter on the RPC error)', async () => {
    const server = await startServer({ telemetry: { dir, userRateLimit: { requests: 1, per: 60_000 } } });
    const c = client({ url: server.url, app: 'shop', token: await signToken('busy-user') });
    c.connect();
    await waitForState(c, 'connected');
    const event = { app: 'shop', env: 'test', release: null, userId: 'busy-user', sessionId: 's', type: 'event', name: 'e', props: {}, rate: 1 };
    const batch = (n: number) => ({ v: 1, events: [{ ...event, props: { n }, ts: Date.now() }] });
    await c.request('telemetry.batch', batch(1));
    const refused = await c.request('telemetry.batch', batch(2)).catch((e: { code: string; retryAfter?: number }) => e);
    expect(refused).toMatchObject({ code: 'rate_limited' });
    expect((refused as { retryAfter?: number }).retryAfter).toBeGreaterThan(0);
  });
});

describe('NDJSON file sink', () => {
  it('names files by UTC day, rotates by size, keeps at most maxFiles', async () => {
    let now = Date.UTC(2030, 0, 1, 23, 0);
    const sink = fileSink({ dir, maxFileBytes: 1024, maxFiles: 3, now: () => now });
    const ev = { receivedAt: 1, pad: 'x'.repeat(400) };
    for (let i = 0; i < 5; i++) await sink.write([ev]);
    expect((await readdir(dir)).sort()).toEqual(['telemetry-2030-01-01.1.ndjson', 'telemetry-2030-01-01.2.ndjson', 'telemetry-2030-01-01.ndjson']);
    for (const f of await readdir(dir)) expect((await readFile(join(dir, f))).length).toBeLessThanOrEqual(1024);
    now += 2 * 3600_000;
    await sink.write([ev]);
    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(3);
    expect(files).toContain('telemetry-2030-01-02.ndjson');
    await sink.close?.();
  });

  it('continues the last part of the day after a restart', async () => {
    const now = () => Date.UTC(2030, 5, 1);
    await writeFile(join(dir, 'telemetry-2030-06-01.ndjson'), 'x'.repeat(1000) + '\n');
    const sink = fileSink({ dir, maxFileBytes: 1024, now });
    await sink.write([{ receivedAt: 1, pad: 'y'.repeat(100) }]);
    expect(sink.file).toBe(join(dir, 'telemetry-2030-06-01.1.ndjson'));
  });
});
