import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, signToken, startServer } from '../support/harness';

/**
 * The packed `sdk-realtime` tarball, installed into apps in the system temp dir — outside this
 * repository, whose tsconfig `paths` and vitest aliases point `sdk-realtime` and `#load-ws` at the
 * sources — is what users get. Browser bundles of it must not contain `ws` (the `#load-ws` import
 * picks the stub without the `node` condition); on Node 20 (no global WebSocket) it must use `ws`
 * when installed and say `npm install ws` when not.
 */
const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform == 'win32' ? 'npm.cmd' : 'npm';
const STUB_MESSAGE = 'no global WebSocket: pass webSocketTransport';
const NODE_MESSAGE = 'npm install ws';

let work: string;
let tarball: string;

/** A fresh app with the tarball installed by npm; `ws` linked in from the repository when asked. */
async function makeApp(name: string, { ws }: { ws: boolean }): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  // sdk-realtime has no dependencies and only optional peers: the install needs no registry.
  await run(npm, ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], { cwd: dir });
  if (ws) symlinkSync(join(repo, 'node_modules/ws'), join(dir, 'node_modules/ws'), 'dir');
  return dir;
}

/** Every way a bundle could still reach `ws`: a static or dynamic import, a require. */
const WS_REFERENCE = /\bimport\s*\(\s*(?:\/\*[\s\S]*?\*\/\s*)*["']ws["']|\bfrom\s*["']ws["']|\brequire\s*\(\s*["']ws["']\s*\)/;

const BROWSER_ENTRY = `import { createClient } from 'sdk-realtime';
const client = createClient({ url: 'wss://rt.example.com/ws', app: 'shop', token: 't' });
client.connect();
export default client;
`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sdk-realtime-bundlers-'));
  expect(existsSync(join(repo, 'dist/index.js')), 'run `npm run build` first').toBe(true);
  const { stdout } = await run(npm, ['pack', '--json', '--pack-destination', work], { cwd: repo });
  tarball = join(work, JSON.parse(stdout)[0].filename);
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('browser bundles of the packed package never reference ws', () => {
  let app: string;
  beforeAll(async () => {
    // `ws` is installed in this app: a build that resolved `#load-ws` for Node would bundle it.
    app = await makeApp('browser-app', { ws: true });
    writeFileSync(join(app, 'main.js'), BROWSER_ENTRY);
  }, 60_000);

  it('esbuild (platform browser, code splitting): one chunk, the #load-ws stub, no ws module or import', async () => {
    const result = await build({
      absWorkingDir: app,
      entryPoints: ['main.js'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      splitting: true,
      outdir: 'out-esbuild',
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.includes('node_modules/sdk-realtime/dist/index.js'))).toBe(true);
    expect(inputs.filter((f) => /node_modules\/ws\/|load-ws\.(c?js)$/.test(f))).toEqual([]);
    expect(inputs.some((f) => f.endsWith('load-ws.browser.js'))).toBe(true);
    const chunks = result.outputFiles.filter((f) => f.path.endsWith('.js'));
    expect(chunks).toHaveLength(1);
    const code = chunks[0]!.text;
    expect(code).toContain(STUB_MESSAGE);
    expect(code).not.toContain(NODE_MESSAGE);
    expect(code).not.toMatch(WS_REFERENCE);
  });

  it('Vite 7 (vite build): one JavaScript asset, the #load-ws stub, no ws module, import or lazy chunk', async () => {
    writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n');
    const vite = join(repo, 'node_modules/vite/bin/vite.js');
    await run(process.execPath, [vite, 'build', '--outDir', 'out-vite', '--emptyOutDir', '--logLevel', 'error'], { cwd: app });
    const assets = join(app, 'out-vite/assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    expect(js).toHaveLength(1);
    const code = readFileSync(join(assets, js[0]!), 'utf8');
    expect(code).toContain(STUB_MESSAGE);
    expect(code).not.toContain(NODE_MESSAGE);
    expect(code).not.toMatch(WS_REFERENCE);
    // ws's own sources (its Receiver/Sender, the permessage-deflate extension) are not in the asset.
    expect(code).not.toMatch(/permessage-deflate|Sec-WebSocket-Key/i);
  }, 60_000);

  it('the ws-reference pattern catches the Node build (guards the assertions above)', () => {
    const nodeBuild = readFileSync(join(app, 'node_modules/sdk-realtime/dist/load-ws.js'), 'utf8');
    expect(nodeBuild).toMatch(WS_REFERENCE);
    expect(nodeBuild).toContain(NODE_MESSAGE);
  });
});

/** Run a client from the packed package in a child Node process without a global WebSocket. */
async function connectFrom(app: string, kind: 'import' | 'require', url: string, token: string) {
  const script = `
delete globalThis.WebSocket;
const { createClient } = ${kind == 'import' ? "await import('sdk-realtime')" : "require('sdk-realtime')"};
const out = { states: [], errors: [] };
const client = createClient({ url: ${JSON.stringify(url)}, app: 'packaging', token: ${JSON.stringify(token)}, reconnect: { floor: 50, ceiling: 100 } });
const done = () => { console.log(JSON.stringify(out)); client.close(); process.exit(0); };
client.on('state', (s) => { out.states.push(s.state + (s.reason ? ': ' + s.reason : '')); if (s.state == 'connected') done(); });
client.on('error', (e) => { out.errors.push(e.code + ': ' + e.message + ' / ' + (e.cause && e.cause.message)); if (out.errors.length >= 2) done(); });
setTimeout(done, 5000);
client.connect();
`;
  const file = join(app, kind == 'import' ? 'client.mjs' : 'client.cjs');
  writeFileSync(file, kind == 'import' ? script : `(async () => {${script}})();`);
  // The child must not see Node 22+'s global WebSocket either (deleted above).
  const { stdout } = await run(process.execPath, [file], { cwd: app, timeout: 15_000 });
  return JSON.parse(stdout) as { states: string[]; errors: string[] };
}

describe('on Node without a global WebSocket, the packed package uses the ws peer', () => {
  afterAll(cleanup);

  it('without ws installed, a connection fails with an error that says `npm install ws`', async () => {
    const app = await makeApp('node-no-ws', { ws: false });
    expect(existsSync(join(app, 'node_modules/ws'))).toBe(false);
    for (const kind of ['import', 'require'] as const) {
      const out = await connectFrom(app, kind, 'ws://127.0.0.1:9/ws', 'unused');
      expect(out.states).not.toContain('connected');
      expect(out.errors.join('\n'), kind).toContain(NODE_MESSAGE);
    }
  }, 60_000);

  it('with ws installed, it connects to the reference server (ES module and CommonJS)', async () => {
    const app = await makeApp('node-ws', { ws: true });
    const server = await startServer();
    const token = await signToken('packaging-user');
    for (const kind of ['import', 'require'] as const) {
      const out = await connectFrom(app, kind, server.url, token);
      expect(out.errors, kind).toEqual([]);
      expect(out.states.at(-1), kind).toBe('connected');
    }
  }, 60_000);
});
