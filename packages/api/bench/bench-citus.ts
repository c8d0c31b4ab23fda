/**
 * BENCH_CITUS=1: the benchmarks run their databases on a Citus cluster as well as on the single embedded
 * PostgreSQL, in the same run. A coordinator + 2 workers on loopback started by the project's own code
 * (packages/db/src/citus/cluster.ts, as `npm run citus:start`; durable settings, like the embedded node), each
 * benchmark database made on every node, migrated and distributed (`npm run db:distribute`), with
 * pg_stat_statements on every node to say where the time goes.
 */
import pg from 'pg';
import { migrateDatabase } from '@sextant/db';
import { prepareCitusDatabase, startCitusCluster } from '../../db/src/citus/cluster';
import { distributeSchema } from '../../db/src/citus/distribute';
import type { BenchPostgres } from './bench-db';

export const BENCH_CITUS = process.env.BENCH_CITUS === '1';
/**
 * BENCH_CITUS_SETTINGS="name=value,…": settings for each benchmark database on the coordinator (ALTER DATABASE
 * … SET), e.g. citus.max_cached_conns_per_worker=8, to see what a setting changes.
 */
const SETTINGS = (process.env.BENCH_CITUS_SETTINGS ?? '')
  .split(',')
  .filter(Boolean)
  .map((kv) => {
    const m = /^([a-z_.]+)=([\w.-]+)$/.exec(kv.trim());
    if (!m) throw new Error(`BENCH_CITUS_SETTINGS: expected name=value, got ${kv}`);
    return [m[1]!, m[2]!] as const;
  });
/** Shards per distributed table (and per daily partition): Citus's default unless BENCH_CITUS_SHARDS says. */
export const BENCH_CITUS_SHARDS = Number(process.env.BENCH_CITUS_SHARDS ?? 32);

export interface CitusBenchPostgres extends BenchPostgres {
  /** URLs of `database` on the coordinator and on each worker. */
  nodeUrls(database: string): string[];
}

export async function startCitusBenchPostgres(): Promise<CitusBenchPostgres> {
  const t0 = performance.now();
  const cluster = await startCitusCluster({ preload: ['pg_stat_statements'] });
  const workers = cluster.workers.map((w) => ({ host: '127.0.0.1', port: w.port }));
  const at = (port: number, database: string) => {
    const u = new URL(cluster.url);
    u.port = String(port);
    u.pathname = `/${database}`;
    return u.toString();
  };
  console.log(`citus: coordinator + ${workers.length} workers up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return {
    serverUrl: cluster.url,
    async createDatabase(name) {
      const url = await prepareCitusDatabase(cluster.url, workers, name);
      await migrateDatabase(url, { quiet: true });
      await distributeSchema(url, { shardCount: BENCH_CITUS_SHARDS });
      // Created on the coordinator, Citus creates it on the workers.
      await onNode(url, ['CREATE EXTENSION IF NOT EXISTS pg_stat_statements']);
      for (const [k, v] of SETTINGS) await onNode(url, [`ALTER DATABASE ${pg.escapeIdentifier(name)} SET ${k} = '${v}'`]);
      return url;
    },
    nodeUrls: (database) => [cluster.coordinator.port, ...workers.map((w) => w.port)].map((p) => at(p, database)),
    stop: cluster.stop,
  };
}

async function onNode<T extends pg.QueryResultRow>(url: string, statements: string[]): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    let rows: T[] = [];
    for (const s of statements) rows = (await c.query<T>(s)).rows;
    return rows;
  } finally {
    await c.end();
  }
}

/** Size of `database` summed over the nodes (the coordinator's copy alone holds no rows of distributed tables). */
export async function databaseBytes(urls: string[]): Promise<number> {
  let bytes = 0;
  for (const u of urls) bytes += Number((await onNode<{ b: string }>(u, ['SELECT pg_database_size(current_database())::text AS b']))[0]?.b);
  return bytes;
}

/** Forgets the statistics on every node (before the part of a benchmark that is measured). */
export async function resetStatements(urls: string[]): Promise<void> {
  for (const u of urls) await onNode(u, ['SELECT pg_stat_statements_reset()']);
}

/**
 * Where the time went, per node: the statements of this database by total execution time (normalized text,
 * first words; shard statements summed per table), with calls and mean. A worker's COPY lasts as long as the
 * coordinator streams rows to it (wall time, not CPU). On the coordinator COMMIT is Citus's two-phase commit (PREPARE on every
 * worker touched, the local commit, COMMIT PREPARED); on the workers the shard statements it sent.
 */
export async function printStatements(urls: string[], top = 8): Promise<void> {
  for (const [i, u] of urls.entries()) {
    // Shard statements grouped by table (flows_102008 → flows), parameters already normalized away.
    const rows = await onNode<{ q: string; calls: string; total: number; mean: number }>(u, [
      `SELECT q, sum(calls)::text AS calls, sum(total_exec_time) AS total, sum(total_exec_time) / sum(calls) AS mean
         FROM (SELECT left(regexp_replace(regexp_replace(query, '\\s+', ' ', 'g'), '_[0-9]{4,}', '', 'g'), 80) AS q, calls, total_exec_time
                 FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) s
        GROUP BY q ORDER BY total DESC LIMIT ${top}`,
    ]);
    const sum = rows.reduce((a, r) => a + r.total, 0);
    console.log(`  ${i === 0 ? 'coordinator' : `worker ${i}`} (top ${top}: ${(sum / 1000).toFixed(2)} s of statement time):`);
    for (const r of rows)
      console.log(
        `    ${(r.total / 1000).toFixed(2).padStart(7)} s  ${r.calls.padStart(7)} calls  mean ${r.mean.toFixed(2).padStart(8)} ms  ${r.q}`,
      );
  }
}

/**
 * What Citus's two-phase commit costs by itself, timed at the client (median COMMIT round trip of `n` each):
 * two rows in a plain table of the coordinator; two rows in one shard (Citus relays one COMMIT to one worker);
 * two rows on different workers (PREPARE TRANSACTION on each, the coordinator's commit, COMMIT PREPARED on
 * each). Every commit is durable (fsync on), as in the benchmarks' clusters.
 */
export async function commitCost(url: string, n = 200): Promise<{ localMs: number; oneShardMs: number; twoWorkersMs: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CREATE TABLE bench_commit_local (k uuid PRIMARY KEY, v int)');
    await c.query('CREATE TABLE bench_commit (k uuid PRIMARY KEY, v int)');
    await c.query(`SELECT create_distributed_table('bench_commit', 'k')`);
    const ids = Array.from({ length: 64 * n }, () => crypto.randomUUID());
    const placed = await c.query<{ k: string; shard: string; port: number }>(
      `SELECT k::text, s.shardid::text AS shard, s.nodeport AS port
         FROM unnest($1::uuid[]) AS k JOIN citus_shards s ON s.shardid = get_shard_id_for_distribution_column('bench_commit', k)`,
      [ids],
    );
    // Half the keys for pairs in one shard, the other half for pairs across workers (no key used twice).
    const half = placed.rows.length >> 1;
    const byShard = new Map<string, string[]>();
    for (const r of placed.rows.slice(0, half)) byShard.set(r.shard, [...(byShard.get(r.shard) ?? []), r.k]);
    // Pairs of keys in one shard, and pairs of keys on two different workers.
    const sameShard: [string, string][] = [];
    for (const keys of byShard.values()) for (let i = 0; i + 1 < keys.length; i += 2) sameShard.push([keys[i]!, keys[i + 1]!]);
    const ports = [...new Set(placed.rows.map((r) => r.port))].sort();
    const [a, b] = ports.map((p) =>
      placed.rows
        .slice(half)
        .filter((r) => r.port === p)
        .map((r) => r.k),
    );
    if (!a || !b || sameShard.length < n) throw new Error('commitCost needs two workers');
    const timeCommit = async (table: string, k1: string, k2: string) => {
      await c.query('BEGIN');
      await c.query(`INSERT INTO ${table} VALUES ($1, 1), ($2, 2)`, [k1, k2]);
      const t = performance.now();
      await c.query('COMMIT');
      return performance.now() - t;
    };
    const local: number[] = [];
    const one: number[] = [];
    const two: number[] = [];
    for (let i = 0; i < n; i++) {
      local.push(await timeCommit('bench_commit_local', crypto.randomUUID(), crypto.randomUUID()));
      const [k1, k2] = sameShard[i]!;
      one.push(await timeCommit('bench_commit', k1, k2));
      two.push(await timeCommit('bench_commit', a[i]!, b[i]!));
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    return { localMs: median(local), oneShardMs: median(one), twoWorkersMs: median(two) };
  } finally {
    await c.end();
  }
}
