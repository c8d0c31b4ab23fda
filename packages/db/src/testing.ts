/**
 * Real PostgreSQL for tests. `globalSetup` starts one embedded PostgreSQL per test run (or uses the server
 * in DATABASE_URL), migrates a template database once, and each test file gets its own fresh database
 * cloned from the template with {@link createTestDatabase}. Nothing is mocked.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { citusWorkers } from './citus/cluster';
import { citusServerForTests, cloneCitusDatabase, dropCitusDatabase, prepareCitusTemplate, type TestCluster } from './citus/test-databases';
import { connect, type Db } from './client';
import { databaseUrl, serverForTests } from './embedded';
import { forgetKnownPartitions } from './maintenance/partitions';
import { REPO_ROOT } from './migrate';

const TEMPLATE = 'sextant_test_template';

/** What `prisma migrate deploy` prints once every migration is committed (or there was none to apply). */
const MIGRATED = /^(All migrations have been successfully applied\.|No pending migrations to apply\.)$/m;

/**
 * The template's migration: `prisma migrate deploy` as migrate.ts runs it, done once prisma says every migration
 * is applied. The CLI itself stays alive for 10 s more after that (measured: a timer of its WASM schema engine
 * keeps node running, with an idle connection to the database), which every test run's setup would wait for:
 * it is stopped instead, and waited for, so no session is left on the template.
 */
async function migrateTemplate(databaseUrl: string): Promise<void> {
  const child = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let migrated = false;
  const onData = (d: Buffer) => {
    output += d.toString();
    if (!migrated && MIGRATED.test(output)) {
      migrated = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 || (migrated && signal === 'SIGTERM')
        ? resolve()
        : reject(new Error(`prisma migrate deploy failed (exit ${code ?? signal}):\n${output}`)),
    );
  });
}

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
      await prepareCitusTemplate(server.url, TEMPLATE, migrateTemplate);
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
  await migrateTemplate(databaseUrl(serverUrl, TEMPLATE));
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
