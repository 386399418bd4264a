import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The server loaded with `require` (its CommonJS build) serves the files it finds beside installed packages. */
describe('server package, CommonJS build', () => {
  it('serves the client files of the demo page when loaded with require (no import.meta.url there)', async () => {
    const script = `
      const { createServer } = require('./server/dist/index.cjs');
      (async () => {
        const s = await createServer({ port: 0, host: '127.0.0.1', demo: true, allowAnonymous: true, jwtSecret: 'cjs-test-secret-0123456789abcdef01234', logger: false, telemetry: { dir: require('node:os').tmpdir() + '/sdk-rt-cjs-' + process.pid } });
        const base = 'http://127.0.0.1:' + s.port;
        const out = {};
        for (const p of ['/sdk-realtime.js', '/sdk-realtime-load-ws.js']) out[p] = (await fetch(base + p)).status;
        console.log(JSON.stringify(out));
        await s.close();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: root, timeout: 20_000 });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ '/sdk-realtime.js': 200, '/sdk-realtime-load-ws.js': 200 });
  });
});
