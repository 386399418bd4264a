import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // Client entries: browser-safe, no Node built-ins. `ws` is only ever imported dynamically.
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2020',
    platform: 'neutral',
    external: ['ws'],
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
