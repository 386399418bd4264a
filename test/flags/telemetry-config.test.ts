import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanup, signToken, startServer } from '../support/harness';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdkrt-flagcfg-'));
});
afterEach(async () => {
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

const config = async (url: string, token?: string) => {
  const res = await fetch(`${url}/api/telemetry/config`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { body: (await res.json()) as Record<string, unknown>, cache: res.headers.get('cache-control') };
};

/** The telemetry SDK's remote config (`GET /api/telemetry/config`) is driven by `config.telemetry.*` flags. */
describe('GET /api/telemetry/config with flags', () => {
  it('merges config.telemetry.* flag values over the telemetry option, per verified user, and drops malformed ones', async () => {
    const server = await startServer({
      telemetry: { dir, config: { sampleRate: 1, deny: ['card'] } },
      flags: {
        definitions: [
          { key: 'config.telemetry.sampleRate', enabled: true, value: 0.25, rules: [{ if: { users: ['vip'] }, value: 1 }] },
          { key: 'config.telemetry.plugins', enabled: true, value: 'not a list' },
        ],
      },
    });
    const anonymous = await config(server.httpUrl);
    expect(anonymous.body).toEqual({ enabled: true, sampleRate: 0.25, deny: ['card'] });
    expect(anonymous.cache).toBe('public, max-age=60');

    const vip = await config(server.httpUrl, await signToken('vip'));
    expect(vip.body).toMatchObject({ sampleRate: 1, deny: ['card'] });
    expect(vip.cache).toBe('private, max-age=60');
    expect((await config(server.httpUrl, await signToken('someone'))).body).toMatchObject({ sampleRate: 0.25 });
  });

  it('without flags it serves the telemetry option as before', async () => {
    const server = await startServer({ telemetry: { dir, config: { sampleRate: 0.5 } } });
    expect(await config(server.httpUrl)).toEqual({ body: { enabled: true, sampleRate: 0.5 }, cache: 'public, max-age=60' });
  });
});
