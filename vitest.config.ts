import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    reporters: ['default', './test/support/summary-reporter.ts'],
    pool: 'threads',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Unhandled rejections fail the run: nothing may be lost silently.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
