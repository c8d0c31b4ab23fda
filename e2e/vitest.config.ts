import { defineConfig } from 'vitest/config';

// Read by tests/stack.ts: the web app is built once per run, by the first test file that starts the stack.
process.env.SEXTANT_E2E_RUN_STARTED ??= String(Date.now());

export default defineConfig({
  test: {
    include: ['tests/**/*.e2e.ts'],
    // One PostgreSQL for the run with a migrated template (as the other workspaces); each file's stack gets a
    // fresh database cloned from it (tests/stack.ts), instead of a server and a migration of its own.
    globalSetup: ['../packages/db/vitest.global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
});
