import { afterEach, describe, expect, it } from 'vitest';
import { API_KEY, cleanup, startServer, type TestServer, signToken } from '../support/harness';

afterEach(cleanup);


async function call(server: TestServer, method: string, path: string, body?: unknown, auth: string | null = API_KEY, headers: Record<string, string> = {}) {
  const res = await fetch(server.httpUrl + path, {
    method,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

describe('flags admin API with per-app API keys: a key reaches only its app\'s flags', () => {
  const keys = { shop: 'key-of-shop', forum: 'key-of-forum' };
  const scoped = () => startServer({ apiKey: keys, flags: { definitions: [{ key: 'everywhere', enabled: true }, { key: 'forum-flag', enabled: true, apps: ['forum'] }] } });

  it('limits a new flag to the key\'s app when the body gives no apps, and refuses other apps naming the field', async () => {
    const server = await scoped();
    const put = await call(server, 'PUT', '/api/flags/shop-flag', { enabled: true, value: 1 }, keys.shop);
    expect(put.status).toBe(200);
    expect(put.body!.apps).toEqual(['shop']);
    expect((await call(server, 'PUT', '/api/flags/shop-flag', { enabled: true, apps: ['shop'] }, keys.shop)).status).toBe(200);
    for (const apps of [['forum'], ['shop', 'forum']]) {
      const res = await call(server, 'PUT', '/api/flags/other', { enabled: true, apps }, keys.shop);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'forbidden', field: 'apps' } });
    }
    // The evaluation sees it only in that app.
    const shop = await call(server, 'GET', '/api/flags?app=shop', undefined, await signToken('u1'));
    const forum = await call(server, 'GET', '/api/flags?app=forum', undefined, await signToken('u1'));
    expect(Object.keys(shop.body!.flags).sort()).toEqual(['everywhere', 'shop-flag']);
    expect(Object.keys(forum.body!.flags).sort()).toEqual(['everywhere', 'forum-flag']);
  });

  it('does not read, overwrite or delete another app\'s flag or a flag of every app', async () => {
    const server = await scoped();
    for (const key of ['forum-flag', 'everywhere']) {
      expect((await call(server, 'GET', `/api/flags/${key}`, undefined, keys.shop)).status).toBe(404);
      expect((await call(server, 'DELETE', `/api/flags/${key}`, undefined, keys.shop)).status).toBe(404);
      const put = await call(server, 'PUT', `/api/flags/${key}`, { enabled: false, apps: ['shop'] }, keys.shop);
      expect(put.status).toBe(403);
      expect(put.body).toMatchObject({ error: { code: 'forbidden', field: 'key' } });
    }
    // Unchanged, and the owner still reaches its own.
    expect((await call(server, 'GET', '/api/flags/forum-flag', undefined, keys.forum)).body).toMatchObject({ enabled: true, apps: ['forum'] });
    expect((await call(server, 'DELETE', '/api/flags/forum-flag', undefined, keys.forum)).status).toBe(200);
    // A wrong key is still a 401 (and counts as a failed attempt), not a 403.
    expect((await call(server, 'GET', '/api/flags/forum-flag', undefined, 'nobody')).status).toBe(401);
  });
});

describe('flags admin API (PUT / DELETE /api/flags/:key, server API key)', () => {
  it('answers 401 without or with a wrong key, and 404 when the server has no API key', async () => {
    const server = await startServer({ flags: {} });
    expect((await call(server, 'PUT', '/api/flags/a', { enabled: true }, null)).status).toBe(401);
    expect((await call(server, 'PUT', '/api/flags/a', { enabled: true }, 'wrong')).status).toBe(401);
    expect((await call(server, 'DELETE', '/api/flags/a', undefined, 'wrong')).status).toBe(401);
    // A user token is not an API key.
    expect((await call(server, 'PUT', '/api/flags/a', { enabled: true }, await signToken('u1'))).status).toBe(401);
    expect((await call(server, 'PUT', '/api/flags/a', { enabled: true })).status).toBe(200);
    const keyless = await startServer({ flags: {}, apiKey: undefined });
    expect((await call(keyless, 'PUT', '/api/flags/a', { enabled: true })).status).toBe(404);
  });

  it.each([
    [{}, 'enabled'],
    [{ enabled: 'yes' }, 'enabled'],
    [{ enabled: true, rules: [{ value: 1, percentage: -1 }] }, 'rules.0.percentage'],
    [{ enabled: true, rules: [{ if: { users: [''] }, value: 1 }] }, 'rules.0.if.users.0'],
    [{ enabled: true, variants: [{ name: 'a', value: 1, weight: 50 }] }, 'variants'],
    [{ enabled: true, endAt: 'soon' }, 'endAt'],
    [{ enabled: true, extra: 1 }, '(body)'],
    [{ key: 'other', enabled: true }, 'key'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const server = await startServer({ flags: {} });
    const res = await call(server, 'PUT', '/api/flags/a', body);
    expect(res.status).toBe(400);
    expect(res.body!.error).toMatchObject({ code: 'bad_request', field });
  });

  it('counts wrong keys per address together with /notify: guessing on one endpoint gets no fresh attempts on the other', async () => {
    const server = await startServer({ flags: {}, authFailureLimit: { failures: 3, per: 60_000 } });
    const notifyBody = { appId: 'shop', eventTopics: ['t'], data: 1 };
    expect((await call(server, 'PUT', '/api/flags/a', { enabled: true }, 'guess1')).status).toBe(401);
    expect((await call(server, 'PUT', '/api/flags/a', { enabled: true }, 'guess2')).status).toBe(401);
    expect((await call(server, 'POST', '/notify', notifyBody, 'guess3')).status).toBe(401);
    // Over the bound: refused before the key is looked at, on both endpoints, even with the right key.
    const limited = await call(server, 'PUT', '/api/flags/a', { enabled: true });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call(server, 'POST', '/notify', notifyBody)).status).toBe(429);
  });

  it('answers 400 for a bad key in the path, a body that is not JSON, and 404 deleting an unknown flag', async () => {
    const server = await startServer({ flags: {} });
    expect((await call(server, 'PUT', '/api/flags/bad%20key', { enabled: true })).body!.error.field).toBe('key');
    expect((await call(server, 'PUT', '/api/flags/a', '{ nope')).status).toBe(400);
    expect((await call(server, 'DELETE', '/api/flags/a')).status).toBe(404);
    expect((await call(server, 'POST', '/api/flags/a', {})).status).toBe(405);
  });

  it('versions each write and reads a definition back', async () => {
    const server = await startServer({ flags: {} });
    const first = await call(server, 'PUT', '/api/flags/a', { enabled: true, value: 1 });
    const second = await call(server, 'PUT', '/api/flags/a', { enabled: true, value: 2 });
    expect(second.body!.version).toBeGreaterThan(first.body!.version);
    expect((await call(server, 'GET', '/api/flags/a')).body).toMatchObject({ key: 'a', value: 2, version: second.body!.version });
    expect((await call(server, 'DELETE', '/api/flags/a')).body).toEqual({ key: 'a', deleted: true });
  });
});

describe('flag evaluation endpoints (token-authenticated)', () => {
  const definitions = [
    { key: 'beta', enabled: true, value: false, rules: [{ if: { role: 'tester' }, value: true }] },
    { key: 'config.telemetry.sampleRate', enabled: true, value: 0.1, rules: [{ if: { users: ['vip'] }, value: 1 }] },
  ];

  it('GET /api/flags evaluates from the verified token, with an ETag and 304', async () => {
    const server = await startServer({ flags: { definitions } });
    expect((await call(server, 'GET', '/api/flags', undefined, null)).status).toBe(401);
    expect((await call(server, 'GET', '/api/flags', undefined, 'not-a-token')).status).toBe(401);
    const tester = await call(server, 'GET', '/api/flags', undefined, await signToken('t1', { role: 'tester' }));
    expect(tester.body!.flags.beta).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    const token = await signToken('u1');
    const plain = await call(server, 'GET', '/api/flags', undefined, token);
    expect(plain.body!.flags.beta).toMatchObject({ value: false, reason: 'DEFAULT' });
    const etag = plain.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    expect((await call(server, 'GET', '/api/flags', undefined, token, { 'if-none-match': etag })).status).toBe(304);
    await call(server, 'PUT', '/api/flags/beta', { enabled: false });
    expect((await call(server, 'GET', '/api/flags', undefined, token, { 'if-none-match': etag })).status).toBe(200);
  });

  it('never returns the rules themselves (targeting lists stay on the server)', async () => {
    const server = await startServer({ flags: { definitions } });
    const res = await call(server, 'GET', '/api/flags', undefined, await signToken('u1'));
    expect(JSON.stringify(res.body)).not.toContain('vip');
    expect(JSON.stringify(res.body)).not.toContain('tester');
  });

  it('POST /ofrep/v1/evaluate/flags answers the OFREP bulk shape, ignoring a context that claims another identity', async () => {
    const server = await startServer({ flags: { definitions } });
    const token = await signToken('u1');
    const res = await call(server, 'POST', '/ofrep/v1/evaluate/flags', { context: { targetingKey: 'vip', role: 'tester' } }, token);
    expect(res.status).toBe(200);
    expect(res.body!.flags).toEqual(
      expect.arrayContaining([
        { key: 'beta', value: false, reason: 'DEFAULT', metadata: { version: expect.any(Number) } },
        { key: 'config.telemetry.sampleRate', value: 0.1, reason: 'DEFAULT', metadata: { version: expect.any(Number) } },
      ]),
    );
    const again = await call(server, 'POST', '/ofrep/v1/evaluate/flags', {}, token, { 'if-none-match': res.headers.get('etag')! });
    expect(again.status).toBe(304);
  });

  it('GET /api/config/remote merges connection settings, the remoteConfig option and config.* flags', async () => {
    const server = await startServer({ flags: { definitions, remoteConfig: { telemetry: { endpoint: '/t' } } }, pingInterval: 20000 });
    const vip = await call(server, 'GET', '/api/config/remote', undefined, await signToken('vip'));
    expect(vip.body).toMatchObject({ connection: { pingInterval: 20000 }, telemetry: { endpoint: '/t', sampleRate: 1 } });
    const other = await call(server, 'GET', '/api/config/remote', undefined, await signToken('u2'));
    expect(other.body!.telemetry).toEqual({ endpoint: '/t', sampleRate: 0.1 });
  });

  it('answers only the flags of the app: the token\'s app claim, else ?app=', async () => {
    const server = await startServer({ flags: { definitions: [{ key: 'forum-only', enabled: true, apps: ['forum'] }, { key: 'all', enabled: true }] } });
    const keys = async (path: string, token: string) => Object.keys((await call(server, 'GET', path, undefined, token)).body!.flags as object);
    const plain = await signToken('u1');
    expect(await keys('/api/flags', plain)).toEqual(['all']);
    expect(await keys('/api/flags?app=forum', plain)).toEqual(['forum-only', 'all']);
    // A token bound to an app answers for that app, whatever the query says.
    expect(await keys('/api/flags?app=forum', await signToken('u1', { app: 'shop' }))).toEqual(['all']);
  });

  it('has no flag routes when flags are off', async () => {
    const server = await startServer();
    expect((await call(server, 'GET', '/api/flags', undefined, await signToken('u1'))).status).toBe(404);
  });
});

describe('CORS on the browser routes (GET /api/flags, GET /api/config/remote, POST /ofrep/v1/evaluate/flags)', () => {
  const preflight = (server: TestServer, path: string, origin: string, method = 'GET') =>
    fetch(server.httpUrl + path, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, if-none-match' },
    });

  it('answers any origin by default, exposes the ETag, and keeps the headers on errors', async () => {
    const server = await startServer({ flags: { definitions: [{ key: 'a', enabled: true }] } });
    for (const [path, method] of [['/api/flags', 'GET'], ['/api/config/remote', 'GET'], ['/ofrep/v1/evaluate/flags', 'POST']] as const) {
      const pre = await preflight(server, path, 'https://app.example', method);
      expect(pre.status, path).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
      expect(pre.headers.get('access-control-allow-methods')).toContain(method);
      expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
      expect(pre.headers.get('access-control-allow-headers')).toContain('if-none-match');
    }
    const token = await signToken('u1');
    const res = await call(server, 'GET', '/api/flags', undefined, token, { origin: 'https://app.example' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('etag');
    const denied = await call(server, 'GET', '/api/flags', undefined, null, { origin: 'https://app.example' });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('gives the admin API no CORS: a page cannot call it with the server key', async () => {
    const server = await startServer({ flags: {} });
    const pre = await preflight(server, '/api/flags/a', 'https://app.example', 'PUT');
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const put = await call(server, 'PUT', '/api/flags/a', { enabled: true }, API_KEY, { origin: 'https://app.example' });
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('follows the server\'s corsOrigins list when one is given', async () => {
    const server = await startServer({ corsOrigins: ['https://good.example'], flags: {} });
    const good = await preflight(server, '/api/flags', 'https://good.example');
    expect(good.status).toBe(204);
    expect(good.headers.get('access-control-allow-origin')).toBe('https://good.example');
    expect(good.headers.get('vary')).toContain('Origin');
    const bad = await preflight(server, '/api/flags', 'https://evil.example');
    expect(bad.status).toBe(403);
    expect(bad.headers.get('access-control-allow-origin')).toBeNull();
  });
});
