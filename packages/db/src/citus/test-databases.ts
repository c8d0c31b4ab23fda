/**
 * Test databases on a Citus cluster (SEXTANT_TEST_CITUS=1, see testing.ts). Citus keeps its metadata per
 * database and Citus 13 does not propagate CREATE DATABASE, so a database is made on every node. The
 * template (migrated, then distributed) is cloned node by node: the coordinator's copy names the same shards
 * that each worker's copy holds, so a clone is a complete distributed database in one CREATE DATABASE per
 * node, without running the migrations and the distribution again for every test file.
 */
import fs from 'node:fs';
import pg from 'pg';
import { atNode, citusWorkers, CITUS_SO, type CitusNode, prepareCitusDatabase, startCitusCluster } from './cluster';
import { distributeSchema } from './distribute';

export interface NodeRef {
  host: string;
  port: number;
}

/** SEXTANT_TEST_CITUS=1: the Citus coordinator in DATABASE_URL, else a throwaway loopback cluster. */
export async function citusServerForTests(): Promise<{ url: string; stop: () => Promise<void>; cluster?: TestCluster }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  if (!fs.existsSync(CITUS_SO)) throw new Error(`SEXTANT_TEST_CITUS=1 needs Citus installed (${CITUS_SO}): run scripts/citus/build.sh`);
  const cluster = await startCitusCluster({ fast: true });
  return {
    url: cluster.url,
    stop: cluster.stop,
    cluster: { dir: cluster.dir, coordinator: cluster.coordinator, workers: cluster.workers },
  };
}

/** The loopback cluster the tests started (tests that stop and start a node get it through inject). */
export interface TestCluster {
  dir: string;
  coordinator: CitusNode;
  workers: CitusNode[];
}

function nodesOf(serverUrl: string, workers: NodeRef[]): NodeRef[] {
  const u = new URL(serverUrl);
  return [{ host: u.hostname, port: Number(u.port || 5432) }, ...workers];
}

async function onNode(serverUrl: string, n: NodeRef, statements: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: atNode(serverUrl, n.host, n.port) });
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

/**
 * Creates `template` on every node, migrates and distributes it, then closes it to connections (Citus's
 * maintenance daemon keeps one open, and CREATE DATABASE … TEMPLATE needs none).
 */
export async function prepareCitusTemplate(serverUrl: string, template: string, migrate: (url: string) => Promise<void>): Promise<void> {
  const workers = await citusWorkers(serverUrl);
  if (!workers?.length) throw new Error('SEXTANT_TEST_CITUS=1: the server is not a Citus coordinator with workers');
  const t = pg.escapeIdentifier(template);
  for (const n of nodesOf(serverUrl, workers)) await onNode(serverUrl, n, [`DROP DATABASE IF EXISTS ${t} WITH (FORCE)`]);
  const url = await prepareCitusDatabase(serverUrl, workers, template);
  await migrate(url);
  // Few shards keep the per-test partition DDL short; the layout is the one docs/scaling.md describes.
  await distributeSchema(url, { shardCount: Number(process.env.SEXTANT_CITUS_SHARD_COUNT ?? 4) });
  for (const n of nodesOf(serverUrl, workers)) {
    await onNode(serverUrl, n, [
      `ALTER DATABASE ${t} ALLOW_CONNECTIONS false`,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${template}' AND pid <> pg_backend_pid()`,
    ]);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Clones the template into `name` on every node (retrying while a terminated session is still leaving). */
export async function cloneCitusDatabase(serverUrl: string, workers: NodeRef[], name: string, template: string): Promise<void> {
  for (const n of nodesOf(serverUrl, workers)) {
    for (let attempt = 0; ; attempt++) {
      try {
        await onNode(serverUrl, n, [`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`]);
        break;
      } catch (err) {
        if (attempt >= 50 || !/being accessed by other users/.test(String(err))) throw err;
        await onNode(serverUrl, n, [`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${template}'`]);
        await sleep(100);
      }
    }
  }
}

/**
 * Drops `name` on every node. WITH (FORCE) still refuses while a terminated session has not exited within
 * PostgreSQL's 5 s (seen once in test:citus on a loaded box): retried for up to ~20 s more.
 */
export async function dropCitusDatabase(serverUrl: string, workers: NodeRef[], name: string): Promise<void> {
  for (const n of nodesOf(serverUrl, workers)) {
    for (let attempt = 0; ; attempt++) {
      try {
        await onNode(serverUrl, n, [`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`]);
        break;
      } catch (err) {
        if (attempt >= 40 || !/being accessed by other users/.test(String(err))) throw err;
        await sleep(500);
      }
    }
  }
}
