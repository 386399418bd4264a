import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import vm from 'node:vm';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, notify, onCleanup, signToken, startServer, waitFor } from '../support/harness';
import { FakeWx } from './fake-wx';

afterEach(cleanup);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** CommonJS text of an entry built the way tsup builds the package (es2020, neutral platform, `sdk-realtime` external). */
async function cjs(entry: string, external: string[]): Promise<string> {
  const out = await build({ entryPoints: [join(root, entry)], bundle: true, format: 'cjs', platform: 'neutral', target: 'es2020', external, write: false, logLevel: 'silent', mainFields: ['module', 'main'] });
  return out.outputFiles[0]!.text;
}

describe('sdk-realtime/wechat as CommonJS', () => {
  it('requires nothing but sdk-realtime and runs in a mini-program-like sandbox (no window, no WebSocket, only wx)', async () => {
    const wechat = await cjs('src/wechat/index.ts', ['sdk-realtime']);
    const requires = [...wechat.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(new Set(requires)).toEqual(new Set(['sdk-realtime']));
    expect(wechat).not.toMatch(/\bimport\s*\(|\bimport\.meta\b/);

    const core = await cjs('src/index.ts', ['ws']);
    const server = await startServer();
    const wx = new FakeWx();
    // A sandbox with only what a mini-program has: its own `require` over the npm-built packages, `wx`, timers, console.
    const sandbox: Record<string, unknown> = { wx, console, setTimeout, clearTimeout, Promise };
    const ctx = vm.createContext(sandbox);
    const load = (code: string, req: (id: string) => unknown) => {
      const module = { exports: {} as Record<string, unknown> };
      vm.runInContext(`(function (module, exports, require) {${code}\n})`, ctx)(module, module.exports, req);
      return module.exports;
    };
    const coreExports = load(core, () => undefined);
    const { createWechatClient } = load(wechat, (id) => (id === 'sdk-realtime' ? coreExports : undefined)) as any;
    const client = createWechatClient({ url: server.url, app: 'shop', token: await signToken('u1') });
    onCleanup(() => client.close());
    const got: unknown[] = [];
    client.on('message', (m: any) => got.push(m.data));
    client.connect();
    await waitFor(() => client.state === 'connected', 'connected');
    await notify(server, { appId: 'shop', users: ['u1'], data: 'hi' });
    await waitFor(() => got.length === 1, 'message');
  });
});
