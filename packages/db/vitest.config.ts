import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Two files at a time (vitest's default on 2 cores is one): each file has its own database (and server), and
    // much of a file's time is spent waiting on PostgreSQL, sockets and child processes.
    maxWorkers: 2,
    globalSetup: ['./vitest.global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
