/**
 * Real PostgreSQL for tests. `globalSetup` starts one embedded PostgreSQL per test run (or uses the server
 * in DATABASE_URL), migrates a template database once, and each test file gets its own fresh database
 * cloned from the template with {@link createTestDatabase}. Nothing is mocked.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { connect, type Db } from './client';
import { databaseUrl, serverForTests } from './embedded';
import { forgetKnownPartitions } from './maintenance/partitions';
import { migrateDatabase } from './migrate';

const TEMPLATE = 'sextant_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
  }
}

/** Server URL provided by the global setup (call inside a test file). */
export function testServerUrl(): string {
  return inject('pgServerUrl');
}

/** Vitest globalSetup: returns the teardown. */
export async function setupTestPostgres(provide: (key: 'pgServerUrl', value: string) => void): Promise<() => Promise<void>> {
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
  return stop;
}

export interface TestDatabase extends Db {
  url: string;
  name: string;
}

/** A fresh, migrated database for one test file; dropped by close(). */
export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `sextant_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
  await admin.end();
  forgetKnownPartitions();
  const url = databaseUrl(serverUrl, name);
  const db = connect(url);
  return {
    ...db,
    url,
    name,
    async close() {
      await db.close();
      const a = new pg.Client({ connectionString: serverUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
