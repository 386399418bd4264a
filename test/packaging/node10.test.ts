import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';

/**
 * WeChat's TypeScript template compiles with `moduleResolution: node10` (`"node"`), which ignores
 * `exports`: every subpath must resolve its types through `typesVersions`. Compiled here with this
 * repository's TypeScript against the packed tarball installed outside the repository (whose
 * tsconfig `paths` would point at the sources), with full checking of the package's declarations.
 */
const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform == 'win32' ? 'npm.cmd' : 'npm';
const SUBPATHS = ['.', './react', './vue', './wechat', './channel', './telemetry', './telemetry/vitals', './flags', './flags/openfeature', './protocol'];

let work: string;
let app: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sdk-realtime-node10-'));
  const { stdout } = await run(npm, ['pack', '--json', '--pack-destination', work], { cwd: repo });
  const tarball = join(work, JSON.parse(stdout)[0].filename);
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'node10-app', private: true }));
  await run(npm, ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], { cwd: app });
  // The adapters' declarations import their frameworks' types: the app has them, as a real one would.
  for (const dep of ['react', '@types/react', 'vue', 'web-vitals', '@openfeature/web-sdk', '@openfeature/core']) {
    mkdirSync(dirname(join(app, 'node_modules', dep)), { recursive: true });
    symlinkSync(join(repo, 'node_modules', dep), join(app, 'node_modules', dep), 'dir');
  }
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

it('the package.json exports list exactly the subpaths compiled here', () => {
  const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  expect(Object.keys(manifest.exports).filter((k) => k != './package.json').sort()).toEqual([...SUBPATHS].sort());
});

it('every subpath type-checks under moduleResolution node10 (module commonjs), declarations included', async () => {
  const spec = (subpath: string) => (subpath == '.' ? 'sdk-realtime' : `sdk-realtime/${subpath.slice(2)}`);
  writeFileSync(
    join(app, 'index.ts'),
    [
      ...SUBPATHS.map((s, i) => `import * as m${i} from '${spec(s)}';`),
      // Types from an adapter and from the core must be the same declarations (one RealtimeClient).
      `import type { RealtimeClient } from 'sdk-realtime';`,
      `declare const wx: import('sdk-realtime/wechat').MiniProgramApi;`,
      `export const client: RealtimeClient = m3.createWechatClient({ api: wx, url: 'wss://rt.example.com/ws', app: 'shop' });`,
      `export const all = [${SUBPATHS.map((_, i) => `m${i}`).join(', ')}];`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'commonjs', moduleResolution: 'node10', target: 'es2015', lib: ['es2020', 'dom'], strict: true, noEmit: true, skipLibCheck: false, types: [], ignoreDeprecations: '5.0' },
      files: ['index.ts'],
    }),
  );
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app }).then(
    () => '',
    (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
  );
  expect(result).toBe('');
}, 60_000);
