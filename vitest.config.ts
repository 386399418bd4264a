import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Shared with vitest.chaos.config.ts: tests import the package's entries from source. */
export const resolve = {
  // Adapters import the core by package name; tests run them against the source.
  alias: [
    { find: /^sdk-realtime$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    { find: /^sdk-realtime\/protocol$/, replacement: fileURLToPath(new URL('./src/protocol/index.ts', import.meta.url)) },
    // Tests run on Node: the `ws`-backed implementation (package.json `imports`, condition `node`).
    { find: /^#load-ws$/, replacement: fileURLToPath(new URL('./src/transports/load-ws.ts', import.meta.url)) },
  ],
};

export default defineConfig({
  resolve,
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    setupFiles: ['test/support/jsdom-realm.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
