import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import { findChromium, missingChromium } from './test/support/find-chromium';

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

/**
 * Browser tests (test/browser/) need Chromium (test/support/find-chromium.ts). Without it they are
 * left out with one line saying how to install it, except under CI (`CI` set), where a missing
 * browser fails the run: CI must never pass without them.
 */
function browserTests(): string[] {
  const { path, looked } = findChromium();
  if (path) return [];
  const ci = process.env.CI;
  if (ci && ci !== '0' && ci !== 'false') throw new Error(`CI is set and ${missingChromium(looked).replace(' are skipped', ' cannot run')}`);
  console.warn(`\n[sdk-realtime] ${missingChromium(looked)}\n`);
  return ['test/browser/**'];
}

// A function, so the chaos config can import `resolve` without running the browser check.
export default defineConfig(() => ({
  resolve,
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    exclude: [...configDefaults.exclude, ...browserTests()],
    setupFiles: ['test/support/jsdom-realm.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
}));
