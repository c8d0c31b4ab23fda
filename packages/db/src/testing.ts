/**
 * Real PostgreSQL for tests. `globalSetup` starts one embedded PostgreSQL per test run (or uses the server
 * in DATABASE_URL), migrates a template database once, and each test file gets its own fresh database
 * cloned from the template with {@link createTestDatabase}. Nothing is mocked.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { citusWorkers } from './citus/cluster';
import { citusServerForTests, cloneCitusDatabase, dropCitusDatabase, prepareCitusTemplate, type TestCluster } from './citus/test-databases';
import { connect, type Db } from './client';
import { databaseUrl, serverForTests } from './embedded';
import { forgetKnownPartitions } from './maintenance/partitions';
import { migrateDatabase } from './migrate';

const TEMPLATE = 'sextant_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
    /** JSON of the loopback Citus cluster the setup started (citus/test-databases.ts TestCluster), else ''. */
    citusCluster: string;
  }
}

/** Server URL provided by the global setup (call inside a test file). */
export function testServerUrl(): string {
  return inject('pgServerUrl');
}

/** The loopback Citus cluster the global setup started, or null (one PostgreSQL, or a cluster in DATABASE_URL). */
export function testCitusCluster(): TestCluster | null {
  const j = inject('citusCluster');
  return j ? (JSON.parse(j) as TestCluster) : null;
}

/** SEXTANT_TEST_CITUS=1: the suites run on a Citus cluster (docs/scaling.md) instead of one PostgreSQL. */
export function testingOnCitus(env: Record<string, string | undefined> = process.env): boolean {
  return env.SEXTANT_TEST_CITUS === '1';
}

/** Vitest globalSetup: returns the teardown. */
export async function setupTestPostgres(
  provide: (key: 'pgServerUrl' | 'citusCluster', value: string) => void,
): Promise<() => Promise<void>> {
  if (testingOnCitus()) {
    // A loopback coordinator + 2 workers (or the coordinator in DATABASE_URL); the template is migrated and
    // then distributed (citus/distribute.ts) on every node.
    const server = await citusServerForTests();
    try {
      await prepareCitusTemplate(server.url, TEMPLATE, (url) => migrateDatabase(url, { quiet: true }));
    } catch (err) {
      await server.stop();
      throw err;
    }
    provide('pgServerUrl', server.url);
    provide('citusCluster', server.cluster ? JSON.stringify(server.cluster) : '');
    return server.stop;
  }
  const server = await serverForTests('sextant-pg-');
  const serverUrl = server.url;
  const stop = server.stop;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  await admin.end();
  await migrateDatabase(databaseUrl(serverUrl, TEMPLATE), { quiet: true });
  provide('pgServerUrl', serverUrl);
  provide('citusCluster', '');
  return stop;
}

export interface TestDatabase extends Db {
  url: string;
  name: string;
}

/** A fresh, migrated database for one test file; dropped by close(). */
export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `sextant_test_${randomBytes(6).toString('hex')}`;
  // On a Citus coordinator the database is cloned on every node (citus/test-databases.ts).
  const workers = await citusWorkers(serverUrl);
  if (workers?.length) await cloneCitusDatabase(serverUrl, workers, name, TEMPLATE);
  else {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
    await admin.end();
  }
  forgetKnownPartitions();
  const url = databaseUrl(serverUrl, name);
  const db = connect(url);
  return {
    ...db,
    url,
    name,
    async close() {
      await db.close();
      if (workers?.length) return dropCitusDatabase(serverUrl, workers, name);
      const a = new pg.Client({ connectionString: serverUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
