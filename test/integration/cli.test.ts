import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, client, waitForState } from '../support/harness';
import { devToken, serve, stopServers } from '../support/cli';

afterEach(async () => {
  await cleanup();
  stopServers();
});

/** A real client connected to a CLI server as user `u1` (device `d1`), with a dev token unless given. */
async function connected(server: { httpUrl: string; wsUrl: string }, token?: string) {
  const c = client({
    url: server.wsUrl,
    app: 'demo',
    token: token ?? (await devToken(server.httpUrl, { app: 'demo', user: 'u1', device: 'd1' })),
    reconnect: false,
  });
  c.connect();
  await waitForState(c, 'connected');
  return c;
}

describe('sdk-realtime serve (the CLI behind npm start)', () => {
  it('serves the demo page, the client bundle, dev tokens, /notify and health in dev mode', async () => {
    const { httpUrl, output } = await serve(['--port', '0', '--dev']);
    expect(output()).toMatch(/development/i);

    const page = await fetch(httpUrl + '/');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/sdk-realtime.js');

    const bundle = await fetch(httpUrl + '/sdk-realtime.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(await bundle.text()).toContain('createClient');

    const tokenRes = await fetch(httpUrl + '/dev/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ app: 'demo', user: 'u1' }),
    });
    expect(tokenRes.status).toBe(200);
    expect((await tokenRes.json()).token.split('.')).toHaveLength(3);

    const notifyRes = await fetch(httpUrl + '/notify', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer dev-api-key' },
      body: JSON.stringify({ appId: 'demo', eventTopics: ['lobby'], data: { hello: 1 } }),
    });
    expect(notifyRes.status).toBe(200);
    expect((await fetch(httpUrl + '/healthz')).status).toBe(200);
  });

  it('does not expose the dev token endpoint or the demo without --dev', async () => {
    const { httpUrl } = await serve(['--port', '0', '--jwt-secret', 'a-long-enough-secret-for-hs256-0123', '--api-key', 'k']);
    const tokenRes = await fetch(httpUrl + '/dev/token', { method: 'POST', body: '{}' });
    expect(tokenRes.status).toBe(404);
    expect((await fetch(httpUrl + '/healthz')).status).toBe(200);
  });

  it('dev mode lets clients publish to shared topics, never to personal streams, and answers the time RPC', async () => {
    const server = await serve(['--port', '0', '--dev']);
    expect(server.output()).toMatch(/publish to shared topics/);
    const c = await connected(server);
    const got: unknown[] = [];
    c.subscribe('room:lobby', (m) => got.push(m.data), { onSubscribed: () => got.push('subscribed') });
    await expect.poll(() => got).toEqual(['subscribed']);

    await expect(c.publish('room:lobby', { text: 'hello' })).resolves.toMatchObject({ id: expect.any(String), offset: 1 });
    await expect.poll(() => got).toEqual(['subscribed', { text: 'hello' }]);
    // Its own personal streams too: only back ends write those (POST /notify).
    await expect(c.publish('user:u1', 1)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(c.publish('device:d1', 1)).rejects.toMatchObject({ code: 'forbidden' });

    const before = Date.now();
    const { now } = await c.request<{ now: number }>('time');
    expect(now).toBeGreaterThanOrEqual(before - 1000);
    expect(now).toBeLessThanOrEqual(Date.now() + 1000);
    await expect(c.request('no.such.method')).rejects.toMatchObject({ code: 'method_not_found' });
  });

  it('outside dev mode refuses client publishes and has no time RPC; --allow-publish allows shared topics', async () => {
    const secret = 'a-long-enough-secret-for-hs256-0123';
    const { SignJWT } = await import('jose');
    const sign = (app: string) =>
      new SignJWT({ app }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime('1h').sign(new TextEncoder().encode(secret));

    const strict = await serve(['--port', '0', '--jwt-secret', secret]);
    const a = await connected(strict, await sign('demo'));
    await expect(a.publish('room:lobby', 1)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(a.request('time')).rejects.toMatchObject({ code: 'method_not_found' });

    const open = await serve(['--port', '0', '--jwt-secret', secret, '--allow-publish']);
    expect(open.output()).toMatch(/publish to shared topics/);
    const b = await connected(open, await sign('demo'));
    await expect(b.publish('room:lobby', 1)).resolves.toMatchObject({ offset: 1 });
    await expect(b.publish('user:u1', 1)).rejects.toMatchObject({ code: 'forbidden' });
  });
});

describe('sdk-realtime serve --flags <file>', () => {
  it('serves the flags of the file, evaluated for the user of a dev token', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'cli-flags-'));
    const file = join(dir, 'flags.json');
    writeFileSync(file, JSON.stringify([{ key: 'beta', enabled: true, value: false, rules: [{ if: { users: ['u1'] }, value: true }] }]));
    const { httpUrl, output } = await serve(['--port', '0', '--dev', '--flags', file]);
    expect(output()).toContain('Flags:');
    const token = await devToken(httpUrl, { app: 'demo', user: 'u1' });
    const res = await fetch(httpUrl + '/api/flags', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { flags: Record<string, { value: unknown }> }).flags.beta!.value).toBe(true);
  });
});
