import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Adapters import the core by package name; tests run them against the source.
    alias: [{ find: /^sdk-realtime$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }],
  },
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    setupFiles: ['test/support/jsdom-realm.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
