// The WeChat mini-program build: miniprogram_dist/ (package.json `miniprogram`).
//
// Why it exists: WeChat's "Build npm" (DevTools, and miniprogram-ci's packNpm, the same code)
// ignores `exports` and `imports`. It copies the folder named by the `miniprogram` field as-is
// into miniprogram_npm/sdk-realtime/, and without that field it bundles `main` + ".js" with a
// parser that stops at ES2018 — our `main` is dist/index.cjs (no entry found), and dist/ is
// ES2020 (`?.`, `??`) with a dynamic `import('ws')` behind `#load-ws`. So this folder holds:
//
//   index.js            what `sdk-realtime` exports (the core)
//   wechat/index.js     what `sdk-realtime/wechat` exports; requires `../index.js`
//   telemetry/index.js  what `sdk-realtime/telemetry` exports (needs no core)
//   flags/index.js      what `sdk-realtime/flags` exports (types only from the core: no require)
//
// CommonJS at ES2015 syntax, no `import()`, no require of anything outside the folder. The
// add-ons share the one core: `sdk-realtime` in their sources becomes a relative require of the
// folder's own index.js. `#load-ws` is the browser stub (mini-programs have no `ws`; the
// mini-program transport uses `connectSocket`). Everything is bundled from src/ with a tsconfig
// that has no `paths` (the repository's tsconfig.json maps `sdk-realtime` and `#load-ws` to
// sources for tests; here every module id is resolved deliberately by the plugin below).
//
// Run by `npm run build`; checked end to end by test/packaging/wechat.test.ts.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const outdir = join(root, 'miniprogram_dist');

/** Entries: output path (without .js) → source. Add-ons import the core as `sdk-realtime`. */
export const entries = {
  index: 'src/index.ts',
  'wechat/index': 'src/wechat/index.ts',
  'telemetry/index': 'src/telemetry/index.ts',
  'flags/index': 'src/flags/index.ts',
};

/** The syntax level: what WeChat's parsers and the oldest supported base-library engines accept. */
export const target = 'es2015';

// The repository's compiler options (decorators, class fields, `verbatimModuleSyntax` shape the
// emitted code the same way as in tsup's build) without `paths`.
const { paths: _paths, ...compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')).compilerOptions;

/** Resolves the package's own module ids in the build of entry `out`; every other id resolves normally. */
const miniProgramIds = (out) => ({
  name: 'mini-program-ids',
  setup(b) {
    // The core, from an add-on: the folder's own index.js, relative to this entry's output file.
    b.onResolve({ filter: /^sdk-realtime$/ }, (args) => {
      if (out === 'index') return { errors: [{ text: `the core imports itself as 'sdk-realtime' (${relative(root, args.importer)})` }] };
      let path = relative(dirname(join(outdir, out)), join(outdir, 'index.js')).split('\\').join('/');
      if (!path.startsWith('.')) path = `./${path}`;
      return { path, external: true };
    });
    b.onResolve({ filter: /^#load-ws$/ }, () => ({ path: join(root, 'src/transports/load-ws.browser.ts') }));
    // Anything else of the package (sdk-realtime/protocol, …) would be a second copy or a
    // package-name require the mini-program runtime cannot resolve: fail the build instead.
    b.onResolve({ filter: /^(sdk-realtime\/|#)/ }, (args) => ({ errors: [{ text: `unexpected import '${args.path}' in ${relative(root, args.importer)}` }] }));
  },
});

/**
 * Build miniprogram_dist/ (one esbuild run per entry, so each knows where its output lies).
 * With `write: false`, nothing is written and the files come back as `{ path, text }`.
 */
export async function buildMiniProgram({ write = true } = {}) {
  if (write) rmSync(outdir, { recursive: true, force: true });
  const files = [];
  for (const [out, src] of Object.entries(entries)) {
    const result = await build({
      absWorkingDir: root,
      entryPoints: [{ in: src, out }],
      outdir,
      bundle: true,
      format: 'cjs',
      platform: 'neutral',
      // The bundled dependencies (mitt, idb-keyval) resolve through their ESM/CJS fields.
      mainFields: ['module', 'main'],
      // Syntax that cannot be lowered to this target fails the build.
      target,
      tsconfigRaw: { compilerOptions },
      plugins: [miniProgramIds(out)],
      sourcemap: false,
      legalComments: 'none',
      write,
      logLevel: 'warning',
    });
    files.push({ path: `${out}.js`, text: result.outputFiles?.[0]?.text });
  }
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await buildMiniProgram();
  console.log(`miniprogram_dist/: ${files.map((f) => f.path).join(', ')}`);
}
