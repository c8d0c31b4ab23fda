import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // Probes observe the whole host: test files must not run at the same time.
    fileParallelism: false,
  },
});
