/**
 * The WeChat mini-program build (package.json `miniprogram` → miniprogram_dist/), end to end on
 * the packed tarball: `npm pack`, the example app installs the tarball, WeChat's own "Build npm"
 * (miniprogram-ci `packNpm`, the code DevTools runs) fills miniprogram_npm/, and the packed files
 * run in a sandbox that has only what a mini-program has (`wx`, timers, console; no window,
 * WebSocket, fetch, process, Buffer, TextEncoder, crypto, and no `import()`), against the real
 * server over real sockets.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import vm from 'node:vm';
import { parse, type Node } from 'acorn';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildMiniProgram } from '../../scripts/build-miniprogram.mjs';
import { cleanup, notify, onCleanup, signToken, startServer, waitFor } from '../support/harness';
import { FakeWx } from '../wechat/fake-wx';

afterEach(cleanup);

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** The files of the mini-program build and the package entry each one stands for. */
const ENTRIES = { 'index.js': 'sdk-realtime', 'wechat/index.js': 'sdk-realtime/wechat', 'telemetry/index.js': 'sdk-realtime/telemetry', 'flags/index.js': 'sdk-realtime/flags' };
const FILES = Object.keys(ENTRIES);
/** What each file may require: the add-ons share the folder's one core; nothing else exists in a mini-program. */
const ALLOWED_REQUIRES: Record<string, string[]> = { 'index.js': [], 'wechat/index.js': ['../index.js'], 'telemetry/index.js': [], 'flags/index.js': [] };

/** Child processes (npm, miniprogram-ci) without the npm_* variables of the `npm test` that runs us. */
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

function walk(node: unknown, visit: (n: Node) => void): void {
  if (Array.isArray(node)) return node.forEach((n) => walk(n, visit));
  if (!node || typeof node !== 'object' || typeof (node as Node).type !== 'string') return;
  visit(node as Node);
  for (const [k, v] of Object.entries(node)) if (k !== 'loc') walk(v, visit);
}

/** The `require('…')` ids of a script, and whether anything calls `require` with something else. */
function requiresOf(code: string, ecmaVersion: 2015 | 2018): { ids: string[]; dynamic: number } {
  const ast = parse(code, { ecmaVersion, sourceType: 'script' });
  const ids: string[] = [];
  let dynamic = 0;
  walk(ast, (n: any) => {
    if (n.type === 'ImportExpression') dynamic++;
    if (n.type === 'CallExpression' && n.callee.type === 'Identifier' && n.callee.name === 'require') {
      const [arg] = n.arguments;
      if (n.arguments.length === 1 && arg.type === 'Literal' && typeof arg.value === 'string') ids.push(arg.value);
      else dynamic++;
    }
  });
  return { ids, dynamic };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

describe('the mini-program build (miniprogram_dist)', () => {
  it('is what package.json `miniprogram` names, ships in the tarball, and matches a fresh build of src/', async () => {
    expect(pkg.miniprogram).toBe('miniprogram_dist');
    expect(pkg.files).toContain('miniprogram_dist');
    expect(pkg.scripts.build).toContain('scripts/build-miniprogram.mjs');
    const dir = join(root, pkg.miniprogram);
    expect(existsSync(dir), 'miniprogram_dist/ missing: run `npm run build`').toBe(true);
    expect(filesUnder(dir)).toEqual([...FILES].sort());
    const fresh = await buildMiniProgram({ write: false });
    for (const { path, text } of fresh) {
      expect(readFileSync(join(dir, path), 'utf8'), `${path} is stale: run \`npm run build\``).toBe(text);
    }
  });

  it.each(FILES)('%s parses as an ES2015 script (no ?., ??, object spread, catch {}, async, import()) and requires only the shared core', (file) => {
    const code = readFileSync(join(root, 'miniprogram_dist', file), 'utf8');
    // ES2015: what this build promises; ES2018: the parser of WeChat's Build npm for `main` files.
    for (const ecmaVersion of [2015, 2018] as const) {
      const { ids, dynamic } = requiresOf(code, ecmaVersion);
      expect(dynamic).toBe(0);
      expect(ids).toEqual(ALLOWED_REQUIRES[file]);
    }
    expect(code).not.toMatch(/\bimport\s*\(|\bimport\.meta\b|\?\.|\?\?/);
  });
});

/** A mini-program `require` over an app folder: relative path first, else miniprogram_npm/ of the folder and its parents. */
function miniProgramRuntime(appRoot: string, globals: Record<string, unknown>) {
  const context = vm.createContext({ ...globals });
  const cache = new Map<string, { exports: unknown }>();
  const file = (p: string) => [p, `${p}.js`, join(p, 'index.js')].find((f) => existsSync(f) && statSync(f).isFile());
  const resolve = (id: string, from: string): string => {
    const base = id.startsWith('/') ? join(appRoot, id) : join(dirname(from), id);
    const hit = file(base);
    if (hit) return hit;
    if (!id.startsWith('.') && !id.startsWith('/')) {
      for (let dir = dirname(from); ; dir = dirname(dir)) {
        const npm = file(join(dir, 'miniprogram_npm', id));
        if (npm) return npm;
        if (dir === appRoot || !dir.startsWith(appRoot)) break;
      }
    }
    throw new Error(`module "${id}" is not defined (required from ${relative(appRoot, from)})`);
  };
  const load = (filename: string): unknown => {
    const cached = cache.get(filename);
    if (cached) return cached.exports;
    const module = { exports: {} as unknown };
    cache.set(filename, module);
    const script = new vm.Script(`(function (require, module, exports) {${readFileSync(filename, 'utf8')}\n})`, {
      filename,
      // import() rejects: Node refuses this loader without --experimental-vm-modules, and with the
      // flag it throws. Either way nothing is imported, as in a mini-program.
      importModuleDynamically: ((specifier: string) => {
        throw new Error(`import() is not available in mini-programs (${specifier})`);
      }) as any,
    });
    const requireFrom = (id: string) => load(resolve(id, filename));
    script.runInContext(context)(requireFrom, module, module.exports);
    return module.exports;
  };
  return {
    context,
    /** `require(id)` from the app root (as from app.js). */
    require: (id: string): any => load(resolve(id, join(appRoot, 'app.js'))),
    /** Run an app file (app.js, pages/…/index.js). */
    run: (path: string): any => load(join(appRoot, path)),
  };
}

/** Timers and console: what a mini-program's JS context has beside `wx` (and App/Page/getApp). */
const MINI_PROGRAM_GLOBALS = { console, setTimeout, clearTimeout, setInterval, clearInterval };
/** Names a mini-program does not have; the sandbox must not have them either. */
const ABSENT = ['window', 'document', 'WebSocket', 'fetch', 'XMLHttpRequest', 'process', 'Buffer', 'TextEncoder', 'TextDecoder', 'crypto', 'URL', 'navigator', 'localStorage', 'indexedDB', 'queueMicrotask', 'structuredClone', 'require', 'module'];

/**
 * FakeWx (test/wechat/fake-wx.ts: SocketTasks over real `ws` sockets, storage with WeChat's
 * limits, app show/hide, network events) plus `wx.request` over real HTTP and `showToast`, for the
 * example app. `route` maps the example's hard-coded development server (127.0.0.1:8080) to the
 * test's server, like a proxy in front of the device would.
 */
class AppWx extends FakeWx {
  readonly toasts: unknown[] = [];
  private readonly route: (url: string) => string;
  constructor(route: (url: string) => string = (u) => u) {
    super();
    this.route = route;
    const connect = this.connectSocket;
    this.connectSocket = (options) => connect({ ...options, url: route(options.url) });
  }
  request({ url, method = 'GET', data, header, success, fail }: { url: string; method?: string; data?: unknown; header?: Record<string, string>; success?: (r: unknown) => void; fail?: (r: unknown) => void }): void {
    fetch(this.route(url), { method, headers: { 'content-type': 'application/json', ...header }, body: data === undefined ? undefined : JSON.stringify(data) })
      .then(async (res) => {
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: wx.request hands over the text
        }
        const headers: Record<string, string> = {};
        res.headers.forEach((value, name) => (headers[name] = value));
        success?.({ statusCode: res.status, data: body, header: headers });
      })
      .catch((err: Error) => fail?.({ errMsg: `request:fail ${err.message}` }));
  }
  showToast(options: unknown): void {
    this.toasts.push(options);
  }
}

describe('WeChat "Build npm" (miniprogram-ci packNpm) on the packed tarball', () => {
  let tmp: string;
  let appDir: string;
  let tarballFiles: string[];
  let packResult: { warnings: unknown[]; reports: Array<Record<string, unknown>> };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sdk-realtime-wechat-'));
    // 1. The tarball, as `npm publish` would upload it (dist/ and miniprogram_dist/ from `npm run build`, run by `pretest`).
    const packDir = join(tmp, 'pack');
    mkdirSync(packDir);
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], { cwd: root, env: childEnv, maxBuffer: 16 << 20 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarballFiles = packed!.files.map((f) => f.path);
    const tarball = join(packDir, packed!.filename);

    // 2. The example app, installing that tarball offline (an empty cache: nothing may need the registry).
    appDir = join(tmp, 'app');
    cpSync(join(root, 'examples/wechat-miniprogram'), appDir, {
      recursive: true,
      filter: (src) => !/[\\/](node_modules|miniprogram_npm|package-lock\.json)$/.test(src),
    });
    const appPkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
    appPkg.dependencies['sdk-realtime'] = `file:${tarball}`;
    writeFileSync(join(appDir, 'package.json'), JSON.stringify(appPkg, null, 2));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', '--cache', join(tmp, 'npm-cache')], { cwd: appDir, env: childEnv });

    // 3. WeChat's Build npm, in its own process (as DevTools runs it); the key file is a dummy: packNpm signs nothing.
    const keyPath = join(tmp, 'private.dummy.key');
    writeFileSync(keyPath, 'dummy: packNpm never reads or uses the upload key\n');
    const resultPath = join(tmp, 'packnpm.json');
    const ciPath = createRequire(join(root, 'package.json')).resolve('miniprogram-ci');
    const script = `
      const ci = require(${JSON.stringify(ciPath)});
      const [projectPath, privateKeyPath, out] = process.argv.slice(1);
      const reports = [];
      const project = new ci.Project({ appid: 'wx0000000000000000', type: 'miniProgram', projectPath, privateKeyPath, ignores: ['node_modules/**/*'] });
      ci.packNpm(project, { reporter: (r) => reports.push(r) }).then(
        (warnings) => { require('fs').writeFileSync(out, JSON.stringify({ warnings, reports })); process.exit(0); },
        (err) => { console.error(err && err.stack || err); process.exit(1); },
      );`;
    await run(process.execPath, ['-e', script, appDir, keyPath, resultPath], { cwd: appDir, env: childEnv });
    packResult = JSON.parse(readFileSync(resultPath, 'utf8'));
  }, 240_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the example depends on this repository (file:../..), not on a registry version', () => {
    const example = JSON.parse(readFileSync(join(root, 'examples/wechat-miniprogram/package.json'), 'utf8'));
    expect(example.dependencies).toEqual({ 'sdk-realtime': 'file:../..' });
  });

  it('packs the mini-program build into the tarball', () => {
    for (const f of FILES) expect(tarballFiles).toContain(`miniprogram_dist/${f}`);
  });

  it('copies sdk-realtime (core, wechat, telemetry, flags) into miniprogram_npm/, with no warning and no ws, jose or zod', () => {
    expect(packResult.warnings).toEqual([]);
    expect(packResult.reports).toEqual([expect.objectContaining({ miniprogram_pack_num: 1, other_pack_num: 0, warn_not_found_num: 0 })]);
    const npm = join(appDir, 'miniprogram_npm');
    expect(readdirSync(npm)).toEqual(['sdk-realtime']);
    const packed = filesUnder(join(npm, 'sdk-realtime'));
    expect(packed).toEqual([...FILES].sort());
    for (const f of FILES) expect(readFileSync(join(npm, 'sdk-realtime', f), 'utf8')).toBe(readFileSync(join(root, 'miniprogram_dist', f), 'utf8'));
    // The optional peers (ws, react, vue, web-vitals) were not installed, so nothing could be packed from them.
    expect(readdirSync(join(appDir, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['sdk-realtime']);
    for (const name of ['ws', 'jose', 'zod']) expect(filesUnder(npm).some((f) => f.split('/').includes(name))).toBe(false);
  });

  it('the packed sdk-realtime/wechat connects through wx.connectSocket to the real server and receives a topic and a personal /notify, in a sandbox with only wx and timers', async () => {
    // Clients may publish here (the default denies; back ends publish with /notify).
    const server = await startServer({ canPublish: () => true, flags: { definitions: [{ key: 'mp-banner', enabled: true, value: 'on' }] } });
    const wx = new AppWx();
    const mp = miniProgramRuntime(appDir, { ...MINI_PROGRAM_GLOBALS, wx });
    expect(vm.runInContext(`[${ABSENT.map((n) => `typeof ${n}`).join(',')}]`, mp.context)).toEqual(ABSENT.map(() => 'undefined'));
    // import() is impossible in the sandbox's modules, like in a mini-program (`ws` is installed on this machine).
    writeFileSync(join(appDir, 'probe-import.js'), "module.exports = { imported: import('ws') };");
    await expect(mp.run('probe-import.js').imported).rejects.toThrow();

    const core = mp.require('sdk-realtime');
    const wechat = mp.require('sdk-realtime/wechat');
    const telemetry = mp.require('sdk-realtime/telemetry');
    const flagsModule = mp.require('sdk-realtime/flags');
    expect(typeof core.createClient).toBe('function');
    expect(typeof flagsModule.createFlags).toBe('function');
    expect(typeof wechat.createWechatClient).toBe('function');
    expect(typeof telemetry.createTelemetry).toBe('function');
    expect(typeof telemetry.wxSender).toBe('function');
    // The same exports as the package's normal CommonJS entries.
    const requireDist = createRequire(join(root, 'package.json'));
    for (const [mod, dist] of [[core, './dist/index.cjs'], [wechat, './dist/wechat/index.cjs'], [telemetry, './dist/telemetry/index.cjs'], [flagsModule, './dist/flags/index.cjs']] as const) {
      expect(Object.keys(mod).sort()).toEqual(Object.keys(requireDist(dist)).sort());
    }
    // One core: the add-on's require('../index.js') is the module `sdk-realtime` resolves to.
    expect(mp.require('sdk-realtime/index')).toBe(core);

    // No `api`: the default is the context's global `wx`, as in the example app.
    const client = wechat.createWechatClient({ url: server.url, app: 'shop', token: await signToken('u1'), reconnect: { floor: 50, ceiling: 300 } });
    onCleanup(() => client.close());
    const got: any[] = [];
    const errors: any[] = [];
    client.on('message', (m: any) => got.push(m));
    client.on('error', (e: any) => errors.push(e));
    const onTopic: any[] = [];
    client.subscribe('order:1:status', (m: any) => onTopic.push(m.data));
    // Flags over the same wx socket, from the packed flags build.
    const flags = flagsModule.createFlags(client);
    onCleanup(() => flags.close());
    client.connect();
    await waitFor(() => client.state === 'connected', `connected (state ${client.state}, errors ${errors.map((e) => e.message)})`, 10_000);
    await waitFor(() => flags.get('mp-banner', '') === 'on', 'flags snapshot in the mini-program', 10_000);

    expect((await notify(server, { appId: 'shop', eventTopics: ['order:1:status'], data: { status: 'paid' } })).status).toBe(200);
    await waitFor(() => onTopic.length === 1, 'topic message', 10_000);
    expect(onTopic).toEqual([{ status: 'paid' }]);
    expect((await notify(server, { appId: 'shop', users: ['u1'], data: { type: 'payment' } })).status).toBe(200);
    await waitFor(() => got.some((m) => m.topic === 'user:u1'), 'personal message', 10_000);
    expect(got.find((m) => m.topic === 'user:u1').data).toEqual({ type: 'payment' });

    // A publish goes through the outbox (persisted in wx storage) and is acknowledged.
    await client.publish('order:1:status', { note: 'from the mini-program' });
    await waitFor(() => onTopic.length === 2, 'own publish echoed', 10_000);
    expect(errors).toEqual([]);
    expect(wx.connectCalls).toBe(1);
    client.close();
    await waitFor(() => wx.liveSockets.length === 0, 'socket closed');
  }, 60_000);

  it('the example app (app.js + pages/index) runs on the packed build: its page goes live and lists a personal notification', async () => {
    const server = await startServer({ dev: true });
    const port = new URL(server.httpUrl).port;
    const wx = new AppWx((url) => url.replace('//127.0.0.1:8080/', `//127.0.0.1:${port}/`));
    let app: any;
    let pageOptions: any;
    // The app logs its client's errors with console.warn: kept here, printed only if the test fails.
    const warnings: unknown[][] = [];
    const appConsole = { ...console, warn: (...args: unknown[]) => void warnings.push(args) };
    const mp = miniProgramRuntime(appDir, {
      ...MINI_PROGRAM_GLOBALS,
      console: appConsole,
      wx,
      App: (options: any) => void (app = options),
      getApp: () => app,
      Page: (options: any) => void (pageOptions = options),
    });
    const { pages } = JSON.parse(readFileSync(join(appDir, 'app.json'), 'utf8'));
    mp.run('app.js');
    app.onLaunch();
    onCleanup(() => app.realtime.close());
    mp.run(`${pages[0]}.js`);
    // A page instance: its options' methods, a copy of `data`, and setData merging into it.
    const page = { ...pageOptions, data: JSON.parse(JSON.stringify(pageOptions.data)), setData(d: object) { Object.assign(this.data, d); } };
    page.onLoad();
    await waitFor(() => page.data.state === 'connected', `page live (state ${page.data.state}, warnings ${JSON.stringify(warnings)})`, 10_000);
    expect(page.data.stateText).toBe('live');

    expect((await notify(server, { appId: 'ecommerce-app', users: ['user-567'], data: { type: 'payment', status: 'success' } })).status).toBe(200);
    await waitFor(() => page.data.items.length > 0, 'notification on the page', 10_000);
    expect(page.data.items[0]).toMatchObject({ topic: 'user:user-567', title: 'payment: success' });
    page.onUnload();
  }, 60_000);
});
