import { existsSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

// Adapters and add-ons are separate entries that import the core as the package itself
// ('sdk-realtime', external), so an app gets exactly one copy of the core in ESM and in CJS.
const addOns = ['react', 'vue', 'wechat', 'channel', 'telemetry', 'flags', 'protocol'].filter((name) => existsSync(`src/${name}/index.ts`));

const browser: Options = {
  format: ['esm', 'cjs'],
  dts: true,
  // Maps let stack traces point at src/; sources are not embedded (the package ships no src/,
  // and embedding would double the tarball for what a debugger can fetch from the repository).
  sourcemap: true,
  target: 'es2020',
  platform: 'neutral',
  // `#load-ws` (package.json `imports`) picks `ws` on Node and a stub elsewhere, at the app's build
  // time; frameworks and optional libraries are the app's.
  external: ['#load-ws', 'sdk-realtime', 'react', 'vue', 'web-vitals', '@openfeature/web-sdk'],
  // idb-keyval (well under 1 KB, tree-shaken) is inlined so the built client runs
  // as-is from a plain <script type="module"> (the demo page).
  noExternal: ['idb-keyval'],
  esbuildOptions(options, { format }) {
    options.sourcesContent = false;
    // Internal state of the client's classes is named with a trailing `_` (`this.pending_`) and
    // shortened here, the way preact mangles its internals: prototype methods keep an idle client
    // small in memory (no closures per instance) without spelling every field name into the bundle.
    // Nothing outside a bundle reads these names (they are `private` in the declarations).
    options.mangleProps = /[^_]_$/;
    // With platform 'node', esbuild's CommonJS output ends with the `0 && (module.exports = {…})`
    // annotation Node reads to give `import()` of a .cjs file its named exports. Nothing else in
    // these builds depends on the platform (every dependency is external or platform-neutral).
    if (format === 'cjs') options.platform = 'node';
  },
};

export default defineConfig([
  {
    ...browser,
    // One build (and one declaration pass) for the core and every add-on. No shared chunks: each
    // entry is one self-contained file (the demo serves dist/index.js as-is).
    splitting: false,
    entry: Object.fromEntries([
      ['index', 'src/index.ts'],
      ...addOns.map((name) => [`${name}/index`, `src/${name}/index.ts`]),
      ['telemetry/vitals', 'src/telemetry/plugins/vitals.ts'],
      // Its own entry: it imports the optional peer @openfeature/web-sdk, which `sdk-realtime/flags` must not.
      ['flags/openfeature', 'src/flags/openfeature.ts'],
      // The two implementations behind `#load-ws`.
      ['load-ws', 'src/transports/load-ws.ts'],
      ['load-ws.browser', 'src/transports/load-ws.browser.ts'],
    ]),
    clean: true,
  },
]);
