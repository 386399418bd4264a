import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// The CLI is tested as users run it: the built bin (npm test builds first, see "pretest").
const CLI = fileURLToPath(new URL('../../server/dist/cli.js', import.meta.url));
let child: ChildProcess | undefined;

afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

async function serve(args: string[]): Promise<{ httpUrl: string; output: () => string }> {
  if (!existsSync(CLI)) throw new Error('server/dist/cli.js is missing: run `npm run build` (npm test does)');
  child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const start = Date.now();
  while (!/http:\/\/[\w.]+:\d+/.test(out)) {
    if (Date.now() - start > 10_000 || child.exitCode !== null) throw new Error(`CLI did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const port = /http:\/\/[\w.]+:(\d+)/.exec(out)![1];
  return { httpUrl: `http://127.0.0.1:${port}`, output: () => out };
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
});
