import { defineConfig } from 'vitest/config';
import { resolve } from './vitest.config';

// npm run test:chaos — the long fault-injection runs (test/chaos/**/*.chaos.ts). The fast cases
// (test/chaos/fast.test.ts) are part of `npm test`. CHAOS_SEED replays a schedule, CHAOS_MS lengthens it.
export default defineConfig({
  resolve,
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    testTimeout: 120_000,
    hookTimeout: 30_000,
    // One file at a time: the schedules measure timing on a shared 2-core machine.
    fileParallelism: false,
  },
});
