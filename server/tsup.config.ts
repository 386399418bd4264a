import { defineConfig, type Options } from 'tsup';

const common: Options = {
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  // Dependencies (ws, jose, zod, sdk-realtime/protocol) stay imports: they are the package's own.
  esbuildOptions(options) {
    options.sourcesContent = false;
  },
};

// `npm run build` empties dist/ first; neither config cleans, so one never deletes the other's files.
export default defineConfig([
  // The library, for `import` and `require`, with declarations for both.
  { ...common, entry: { index: 'src/index.ts' }, format: ['esm', 'cjs'], dts: true },
  // The `sdk-realtime-server` bin: one ES module, nothing else imports it.
  { ...common, entry: { cli: 'src/cli.ts' }, format: ['esm'] },
]);
