import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fnv1a } from '../../src/telemetry/hash';
import { cleanup, client, signToken, startServer, waitForState } from '../support/harness';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdkrt-telemetry-sec-'));
});
afterEach(async () => {
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

const event = (over: Record<string, unknown> = {}) => ({
  app: 'shop', env: 'test', release: null, userId: null, sessionId: 's1',
  type: 'event', name: 'e', props: {}, ts: Date.now(), rate: 1, ...over,
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/api/telemetry/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function stored(): Promise<any[]> {
  const lines: any[] = [];
  for (const f of (await readdir(dir).catch(() => [])).filter((x) => x.endsWith('.ndjson'))) {
    for (const l of (await readFile(join(dir, f), 'utf8')).split('\n')) if (l) lines.push(JSON.parse(l));
  }
  return lines;
}

describe('telemetry ingestion against hostile input', () => {
  it("keys the per-user limit by the sender, not by the userId in the events: nobody spends a victim's quota", async () => {
    const server = await startServer({ telemetry: { dir, userRateLimit: { requests: 2, per: 60_000 }, ipRateLimit: { requests: 1000, per: 60_000 } } });
    // An anonymous sender writing the victim's id into its events uses only its own (address) quota...
    for (let i = 0; i < 2; i++) expect((await post(server.httpUrl, { events: [event({ userId: 'victim' })] })).status).toBe(202);
    expect((await post(server.httpUrl, { events: [event({ userId: 'victim' })] })).status).toBe(429);
    // ...and the victim, sending with its own verified token, still has all of its own.
    const token = await signToken('victim', { app: 'shop' });
    for (let i = 0; i < 2; i++) {
      expect((await post(server.httpUrl, { events: [event({ userId: 'victim' })] }, { authorization: `Bearer ${token}` })).status).toBe(202);
    }
  });

  it('takes one token per batch however many distinct userIds it carries', async () => {
    const server = await startServer({ telemetry: { dir, userRateLimit: { requests: 2, per: 60_000 } } });
    const many = { events: Array.from({ length: 500 }, (_, i) => event({ userId: `u${i}` })) };
    expect((await post(server.httpUrl, many)).status).toBe(202);
    expect((await post(server.httpUrl, many)).status).toBe(202);
    expect((await post(server.httpUrl, many)).status).toBe(429);
    expect((await stored()).length).toBe(1000);
  });

  it('keys the realtime upload by the verified user of the connection', async () => {
    const server = await startServer({ telemetry: { dir, userRateLimit: { requests: 1, per: 60_000 } } });
    const a = client({ url: server.url, app: 'shop', token: await signToken('a') });
    const b = client({ url: server.url, app: 'shop', token: await signToken('b') });
    a.connect();
    b.connect();
    await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);
    // a claims to be b in its events: b's own quota is untouched.
    await a.request('telemetry.batch', { events: [event({ userId: 'b' })] });
    await expect(a.request('telemetry.batch', { events: [event({ userId: 'b' })] })).rejects.toMatchObject({ code: 'rate_limited' });
    await expect(b.request('telemetry.batch', { events: [event({ userId: 'b' })] })).resolves.toEqual({ accepted: 1 });
  });

  it('removes credentials whatever their case or depth, and scrubs personal data out of keys', async () => {
    const server = await startServer({ telemetry: { dir, config: { deny: ['Card'] } } });
    const props = {
      Password: 'p1', PASSWORD: 'p2', Authorization: 'Bearer x', Cookie: 'c', Token: 't', SECRET: 's', accessToken: 'a',
      'x-api-key': 'k', card: '4111', CARD: '4111',
      nested: { deeper: [{ Password: 'p3', ok: 1 }], Cookie: 'c2' },
      'alice.smith@example.com': 3,
      '+1 (555) 123-4567': 'tel',
      'Alice.Smith@example.com': 4,
      fine: 'kept',
    };
    expect((await post(server.httpUrl, { events: [event({ props })] })).status).toBe(202);
    const [stored1] = await stored();
    const text = JSON.stringify(stored1.props);
    for (const leak of ['p1', 'p2', 'p3', 'Bearer x', '"c"', '"c2"', '"t"', '"s"', '"a"', '"k"', '4111', 'alice', 'Alice', '555']) {
      expect(text, leak).not.toContain(leak);
    }
    const mail = `email:${fnv1a('alice.smith@example.com')}`;
    expect(stored1.props).toMatchObject({ fine: 'kept', nested: { deeper: [{ ok: 1 }] }, [mail]: 3, [`${mail}~1`]: 4 });
    expect(stored1.props[`phone:${fnv1a('15551234567')}`]).toBe('tel');
  });

  it('refuses props nested 30,000 deep with 400 naming the field, over HTTP and over the connection', async () => {
    const errors: unknown[] = [];
    const server = await startServer({
      telemetry: { dir },
      logger: { info: () => {}, warn: () => {}, error: (...a: unknown[]) => errors.push(a) },
    });
    const deep = '{"a":'.repeat(30_000) + '1' + '}'.repeat(30_000);
    const body = `{"events":[{"app":"shop","env":"t","release":null,"userId":null,"sessionId":"s","type":"event","name":"e","ts":1,"rate":1,"props":${deep}}]}`;
    const r = await post(server.httpUrl, body);
    expect(r.status).toBe(400);
    expect(r.body.error.field).toMatch(/^events\.0\.props/);

    const c = client({ url: server.url, app: 'shop', token: await signToken('u') });
    c.connect();
    await waitForState(c, 'connected');
    // 100 levels: deeper than the server takes, shallow enough for the client to encode.
    const params = JSON.parse(body.replace(deep, '{"a":'.repeat(100) + '1' + '}'.repeat(100)));
    await expect(c.request('telemetry.batch', params)).rejects.toMatchObject({ code: 'bad_request' });
    expect(errors).toEqual([]);
  });
});
