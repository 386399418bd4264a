import { existsSync } from 'node:fs';
import { defineConfig } from 'tsup';

// Adapters and add-ons are separate entries that import the core as the package itself
// ('sdk-realtime', external), so an app gets exactly one copy of the core in ESM and in CJS.
const addOns = ['react', 'vue', 'wechat', 'channel', 'telemetry'].filter((name) => existsSync(`src/${name}/index.ts`));

const browser = {
  format: ['esm', 'cjs'] as const,
  dts: true,
  sourcemap: true,
  target: 'es2020',
  platform: 'neutral' as const,
  // `ws` is only imported dynamically, on Node; frameworks and optional libraries are the app's.
  external: ['ws', 'sdk-realtime', 'react', 'vue', 'web-vitals'],
  // mitt and idb-keyval (each well under 1 KB, tree-shaken) are inlined so the built client runs
  // as-is from a plain <script type="module">
  // (the demo page) and from a mini-program `require` without an npm build step for them.
  noExternal: ['mitt', 'idb-keyval'],
};

export default defineConfig([
  {
    ...browser,
    format: [...browser.format],
    // One build (and one declaration pass) for the core and every add-on. No shared chunks: each
    // entry is one self-contained file (the demo serves dist/index.js as-is).
    splitting: false,
    entry: Object.fromEntries([
      ['index', 'src/index.ts'],
      ...addOns.map((name) => [`${name}/index`, `src/${name}/index.ts`]),
    ]),
    clean: true,
  },
  {
    entry: { 'server/index': 'src/server/index.ts', 'server/cli': 'src/server/cli.ts' },
    format: ['esm', 'cjs'],
    dts: { entry: { 'server/index': 'src/server/index.ts' } },
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    // `import.meta.url` in the CJS build (the demo finds the client bundle next to itself).
    shims: true,
  },
]);
