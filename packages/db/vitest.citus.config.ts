/**
 * The store's suites on a Citus cluster (scripts/citus/test.sh, `npm run test:citus`): packages/db's own tests
 * and the API suites that drive the store, in one run so one coordinator + 2 workers and one distributed
 * template serve them all (SEXTANT_TEST_CITUS=1: src/testing.ts). Same files, same assertions as on one
 * PostgreSQL.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

process.env.SEXTANT_TEST_CITUS = '1';

/** API suites over the store: ingest and idempotency, search with every filter kind, live tail, service map,
 * dashboards, drawer, collectors, Grafana's SQL, Hubble import/export (queries.test.ts). */
export const API_SUITES = [
  'ingest.test.ts',
  'ingest-poison.test.ts',
  'ingest-aggregates.test.ts',
  'queries.test.ts',
  'live-tail.test.ts',
  'ui-queries.test.ts',
  'drawer.test.ts',
  'collectors.test.ts',
  'grafana/sql.test.ts',
];

const packages = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const shared = { testTimeout: 60_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    root: packages,
    globalSetup: ['./db/vitest.global-setup.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'store',
          root: packages,
          include: ['db/src/**/*.test.ts', ...API_SUITES.map((f) => `api/src/${f}`)],
          sequence: { groupOrder: 0 },
        },
      },
      // *.citus-test.ts stop and start nodes of the shared cluster or run server processes: after every other
      // file, one file at a time.
      {
        test: {
          ...shared,
          name: 'cluster faults',
          root: packages,
          include: ['*/src/**/*.citus-test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
