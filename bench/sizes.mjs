// bench/sizes.mjs — browser bundle sizes, esbuild (bundle, minify, esm, browser, es2019) + `gzip -9 -n`:
// the sdk-realtime client, each adapter present in dist/ (react, vue, wechat, channel, telemetry),
// and peer realtime clients (centrifuge, socket.io-client, phoenix, pusher-js, ably, partysocket).
//
//   npm run build && node bench/sizes.mjs
//
// Peers are resolved from the project's node_modules or from bench/.peers/node_modules (install the
// ones the project does not depend on there: `cd bench/.peers && npm install centrifuge phoenix
// pusher-js ably`; the directory is git-ignored). A missing peer or adapter is skipped with a note.
// Each entry imports the library's main client and uses it (as /work/shared/peer-bench/sizes.mjs).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { machine } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const dist = path.join(root, 'dist');
// Outside the repo: minified bundles must not meet `eslint .`.
const OUT = path.join(os.tmpdir(), 'sdk-realtime-bench-sizes');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

/** Directory of an installed package (project first, then bench/.peers), or null. */
function pkgDir(name) {
  for (const base of [root, path.join(here, '.peers')]) {
    const dir = path.join(base, 'node_modules', name);
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return null;
}
const versionOf = (name) => {
  const dir = pkgDir(name);
  return dir ? JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version : null;
};

const CORE = path.join(dist, 'index.js');
const ours = [
  ['sdk-realtime (createClient)', CORE, `import { createClient } from 'sdk-realtime';
const c = createClient({ url: 'wss://example.com/ws', app: 'shop', token: () => 'jwt' });
c.subscribe('orders', (m) => console.log(m.data)); c.connect();`],
  ...['react', 'vue', 'wechat', 'channel', 'telemetry'].map((a) => [`sdk-realtime/${a} (every export)`, path.join(dist, a, 'index.js'), `export * from ${JSON.stringify(path.join(dist, a, 'index.js'))};`]),
];
const peers = [
  ['centrifuge', `import { Centrifuge } from 'centrifuge';
const c = new Centrifuge('wss://example.com/connection/websocket');
const sub = c.newSubscription('orders'); sub.on('publication', (ctx) => console.log(ctx.data)); sub.subscribe(); c.connect();`],
  ['socket.io-client', `import { io } from 'socket.io-client';
const s = io('https://example.com'); s.on('orders', (d) => console.log(d));`],
  ['phoenix', `import { Socket } from 'phoenix';
const s = new Socket('/socket'); s.connect(); const ch = s.channel('orders'); ch.on('update', (d) => console.log(d)); ch.join();`],
  ['pusher-js', `import Pusher from 'pusher-js';
const p = new Pusher('key', { cluster: 'eu' }); p.subscribe('orders').bind('update', (d) => console.log(d));`],
  ['ably', `import { Realtime } from 'ably';
const c = new Realtime({ key: 'a.b:c' }); c.channels.get('orders').subscribe((m) => console.log(m.data));`],
  ['partysocket', `import PartySocket from 'partysocket';
const s = new PartySocket({ host: 'example.com', room: 'orders' }); s.addEventListener('message', (e) => console.log(e.data));`],
];

const gzip = (file) => execFileSync('gzip', ['-9', '-n', '-c', file]).length;

async function measure(name, code, { external = [], nodePaths = [] } = {}) {
  const slug = name.replace(/[^a-z0-9]+/gi, '-');
  const entry = path.join(OUT, `${slug}.entry.mjs`);
  const outfile = path.join(OUT, `${slug}.min.js`);
  writeFileSync(entry, code);
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2019',
    define: { 'process.env.NODE_ENV': '"production"' },
    external,
    alias: external.includes('sdk-realtime') ? {} : { 'sdk-realtime': CORE },
    nodePaths,
    // Not this repository's tsconfig `paths` (they point tests at sources, and `#load-ws` at its
    // Node implementation): an app's bundler sees only the package.
    tsconfigRaw: '{}',
    logLevel: 'silent',
  });
  return { min: readFileSync(outfile).length, gz: gzip(outfile) };
}

const rows = [];
const notes = [];
const core = await measure('sdk-realtime-core', ours[0][2]);
for (const [name, file, code] of ours) {
  if (!existsSync(file)) {
    notes.push(`${name}: not in dist/ (skipped)`);
    continue;
  }
  const whole = await measure(name, code, { external: ['react', 'react-dom', 'vue'] });
  const alone = name.startsWith('sdk-realtime (') ? null : await measure(name + '-alone', code, { external: ['react', 'react-dom', 'vue', 'sdk-realtime'] });
  rows.push({ name, version: versionOf('sdk-realtime') ?? JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version, ...whole, alone });
}
for (const [name, code] of peers) {
  const dir = pkgDir(name);
  if (!dir) {
    notes.push(`${name}: not installed (skipped; see the header of bench/sizes.mjs)`);
    continue;
  }
  try {
    rows.push({ name, version: versionOf(name), ...(await measure(name, code, { nodePaths: [path.dirname(dir)] })), alone: null });
  } catch (e) {
    notes.push(`${name}: build failed (${String(e.message).split('\n')[0]})`);
  }
}

const kb = (n) => (n / 1024).toFixed(1);
console.log(`\n## Bundle sizes\n\nesbuild ${esbuild.version} (bundle, minify, esm, browser, es2019; react/vue external) + gzip -9; ${machine()}\n`);
console.log('| bundle | version | min KB | min+gzip KB | gzip vs sdk-realtime client | adapter alone (core external), min+gzip KB |');
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.version} | ${kb(r.min)} | ${kb(r.gz)} | ${(r.gz / core.gz).toFixed(2)}× | ${r.alone ? kb(r.alone.gz) : '–'} |`);
}
for (const n of notes) console.log(`\n- ${n}`);
