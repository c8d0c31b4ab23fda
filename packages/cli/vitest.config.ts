import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['../../packages/db/vitest.global-setup.ts'],
    // Output formats print local time, as hubble does: pin the zone for exact expectations.
    env: { TZ: 'UTC' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
