import { afterEach, describe, expect, it } from 'vitest';
import { API_KEY, cleanup, notify, sign, startServer } from './helpers';

afterEach(cleanup);

async function get(url: string, auth?: string): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(url, auth ? { headers: { authorization: `Bearer ${auth}` } } : {});
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

const secretFlags = { definitions: [{ key: 'everywhere', enabled: true }, { key: 'forum.secret', enabled: true, value: 'forum-only', apps: ['forum'] }] };

describe('flags HTTP routes against a hostile caller', () => {
  it('answers bad percent-encoding in a flag key with 400 naming the key, never 500', async () => {
    const lines: string[] = [];
    const log = (m: string) => lines.push(m);
    const server = await startServer({ flags: {}, logger: { info: () => {}, warn: () => {}, error: log } });
    for (const path of ['/api/flags/%E0%A4%A', '/api/flags/%', '/api/flags/a%zz']) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await fetch(server.httpUrl + path, { method, headers: { authorization: `Bearer ${API_KEY}` }, body: method === 'PUT' ? '{"enabled":true}' : undefined });
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(await res.json()).toMatchObject({ error: { code: 'bad_request', field: 'key' } });
      }
    }
    expect(lines).toEqual([]);
  });

  it('refuses a token without an app claim unless tokens.anyApp, as connect does, so ?app= reads no other app', async () => {
    const server = await startServer({ tokens: { anyApp: false }, flags: secretFlags });
    const noApp = await sign('alice');
    for (const path of ['/api/flags?app=forum', '/api/flags', '/api/config/remote?app=forum']) {
      const res = await get(server.httpUrl + path, noApp);
      expect(res.status, path).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'forbidden', field: 'Authorization' } });
    }
    // The token's own app wins over ?app=.
    const shop = await get(server.httpUrl + '/api/flags?app=forum', await sign('alice', { app: 'shop' }));
    expect(shop.status).toBe(200);
    expect(Object.keys(shop.body.flags)).toEqual(['everywhere']);
  });

  it('refuses an app outside the apps allow-list, from the token or from ?app=', async () => {
    const server = await startServer({ apps: ['shop', 'blog'], tokens: { anyApp: true }, flags: secretFlags });
    const noApp = await sign('alice');
    const byParam = await get(server.httpUrl + '/api/flags?app=forum', noApp);
    expect(byParam.status).toBe(403);
    expect(byParam.body).toMatchObject({ error: { code: 'forbidden', field: 'app' } });
    const byClaim = await get(server.httpUrl + '/api/flags', await sign('alice', { app: 'forum' }));
    expect(byClaim.status).toBe(403);
    expect(byClaim.body).toMatchObject({ error: { code: 'forbidden', field: 'Authorization' } });
    const ok = await get(server.httpUrl + '/api/flags?app=shop', noApp);
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body.flags)).toEqual(['everywhere']);
  });

  it('with a single allowed app, accepts tokens without an app claim (tokens.anyApp implied)', async () => {
    const server = await startServer({ apps: ['forum'], tokens: { anyApp: false }, flags: secretFlags });
    const res = await get(server.httpUrl + '/api/flags?app=forum', await sign('alice'));
    expect(res.status).toBe(200);
    expect(res.body.flags['forum.secret']).toMatchObject({ value: 'forum-only' });
  });
});

describe('/notify names', () => {
  it('refuses app, user, device and topic names over 256 characters with 400 naming the field', async () => {
    const server = await startServer();
    const long = 'x'.repeat(257);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ appId: long, eventTopics: ['t'] }, 'appId'],
      [{ appId: 'shop', eventTopics: ['t', long] }, 'eventTopics.1'],
      [{ appId: 'shop', users: [long] }, 'users.0'],
      [{ appId: 'shop', devices: [long] }, 'devices.0'],
    ];
    for (const [body, field] of cases) {
      const res = await notify(server, { ...body, data: 1 });
      expect(res.status, field).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'bad_request', field });
      expect(res.body.error.message).toContain('at most 256');
    }
    expect((await notify(server, { appId: 'shop', eventTopics: ['x'.repeat(256)], data: 1 })).status).toBe(200);
  });
});
