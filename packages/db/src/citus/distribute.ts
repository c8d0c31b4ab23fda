/**
 * `npm run db:distribute`: turns the migrated schema into the distributed layout of docs/scaling.md on a
 * Citus coordinator. One explicit step after `prisma migrate deploy` (the migrations stay plain PostgreSQL:
 * single-node installs never need Citus), idempotent: tables already distributed are left as they are, so it
 * can run after every migration.
 *
 * - flows and l7_events: hash-distributed by flow_id, colocated (the L4 ↔ L7 join of a connection is
 *   shard-local). Their daily partitions are distributed with them, including the ones ingest and the
 *   maintenance job create later (`CREATE TABLE … PARTITION OF` a distributed parent makes a distributed
 *   partition). Neither has a primary key, so no constraint needs the distribution column.
 * - The rollups (edge_minute, edge_hour, edge_6h, latency_minute, l7_coverage_minute, l7_record_minute: ROLLUP_TABLES): by
 *   src_service, colocated. Their primary keys
 *   already contain src_service, so the rollup upserts (ON CONFLICT on the key) stay as they are.
 * - ingest_receipts: by batch_id (its primary key). The receipt and the batch's rows are written by one
 *   transaction on the coordinator, which Citus commits on every node touched with two-phase commit: a batch
 *   and its receipt commit together or not at all (citus/distribute.test.ts checks it).
 * - services, rollup_dirty_hours, rollup_dirty_blocks: reference tables (a copy on every node): the map's and the rollup readers'
 *   subqueries against them run inside each shard's query.
 * - users, sessions, api_tokens, collectors, collector_health, capture_requests, rollup_epochs and _prisma_migrations stay plain
 *   tables of the coordinator. Only the server reads them, through the coordinator, never joined with telemetry; and Citus
 *   refuses what Prisma writes for them as Citus tables: RETURNING "role"::text (an enum's output function is
 *   not immutable) on users, and an update of collectors (last_seen_at) after the batch's parallel COPY in the
 *   ingest transaction while other tables reference collectors by foreign key. Their writes in a distributed
 *   transaction commit with it (the coordinator's local commit is the decision point of Citus's 2PC).
 * - The foreign key ingest_receipts → collectors is dropped (Citus has no foreign keys from distributed to
 *   local tables): deleting a collector (npm start re-creating its local one) leaves its receipts until the
 *   maintenance job prunes them with raw retention. Nothing reads receipts by collector.
 * - A table of the public schema that none of these lists names makes the step fail (it would stay on the
 *   coordinator unnoticed): a migration that adds a table adds it here too.
 * - sextant_hist_merge (used inside rollup upserts and map queries that run on the workers) is created on
 *   every node.
 */
import pg from 'pg';
import { ROLLUP_TABLES } from '../maintenance/partitions';

/** Reference tables (no foreign keys among them); the rollups' dirty marks are read inside shard queries. */
export const REFERENCE_TABLES = ['services', 'rollup_dirty_hours', 'rollup_dirty_blocks'] as const;

/** Distributed tables: [table, distribution column, colocated with]. Every rollup level by src_service. */
export const DISTRIBUTED_TABLES: readonly (readonly [string, string, string | null])[] = [
  ['flows', 'flow_id', null],
  ['l7_events', 'flow_id', 'flows'],
  ['edge_minute', 'src_service', null],
  ...ROLLUP_TABLES.filter((t) => t !== 'edge_minute').map((t) => [t, 'src_service', 'edge_minute'] as const),
  ['ingest_receipts', 'batch_id', null],
];

/** Tables that stay plain tables of the coordinator (see the file comment). */
export const COORDINATOR_TABLES = [
  'users',
  'sessions',
  'api_tokens',
  'collectors',
  'collector_health',
  'capture_requests',
  'rollup_epochs',
  '_prisma_migrations',
] as const;

/** Foreign keys from a distributed to a local table, dropped on Citus (see the file comment). */
export const DROPPED_FOREIGN_KEYS = [['ingest_receipts', 'ingest_receipts_collector_id_fkey']] as const;

const HIST_MERGE = 'sextant_hist_merge(smallint[], bigint[], smallint[], bigint[])';

export interface DistributeOptions {
  /** Shards per distributed table (and per partition); default Citus's citus.shard_count (32). */
  shardCount?: number;
  log?: (line: string) => void;
}

export interface DistributeReport {
  /** Tables changed by this run (empty when the layout was already in place). */
  reference: string[];
  distributed: string[];
}

/** Whether the database behind `pool` (or client) has the Citus extension. */
export async function isCitus(q: pg.Pool | pg.Client | pg.PoolClient): Promise<boolean> {
  return ((await q.query(`SELECT 1 FROM pg_extension WHERE extname = 'citus'`)).rowCount ?? 0) > 0;
}

export async function distributeSchema(url: string, opts: DistributeOptions = {}): Promise<DistributeReport> {
  const log = opts.log ?? (() => {});
  const c = new pg.Client({ connectionString: url, application_name: 'sextant-distribute' });
  await c.connect();
  try {
    if (!(await isCitus(c)))
      throw new Error(
        'db:distribute needs a Citus coordinator: the Citus extension is not installed in this database (CREATE EXTENSION citus, then add the workers)',
      );
    const workers = await c.query(`SELECT 1 FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary' AND isactive`);
    if (workers.rowCount === 0) throw new Error('db:distribute: no worker nodes registered on this coordinator (citus_add_node)');
    const migrated = await c.query(`SELECT to_regclass('public.flows') IS NOT NULL AS ok`);
    if (!migrated.rows[0].ok) throw new Error('db:distribute: the schema is not migrated yet (run the migrations first)');

    const done = new Map<string, string>();
    for (const r of (
      await c.query<{ t: string; kind: string }>(`SELECT logicalrelid::regclass::text AS t, partmethod AS kind FROM pg_dist_partition`)
    ).rows)
      done.set(r.t, r.kind);

    const report: DistributeReport = { reference: [], distributed: [] };
    // Functions the workers run: created there before any shard query or upsert uses them.
    const fn = await c.query(
      `SELECT 1 FROM pg_catalog.pg_dist_object WHERE classid = 'pg_proc'::regclass AND objid = $1::regprocedure::oid`,
      [HIST_MERGE],
    );
    if (fn.rowCount === 0) await c.query(`SELECT create_distributed_function($1)`, [HIST_MERGE]);

    for (const [t, fk] of DROPPED_FOREIGN_KEYS) await c.query(`ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${fk}`);
    // A table this step does not know would silently stay on the coordinator: refuse, so its place is decided.
    const known = new Set<string>([...REFERENCE_TABLES, ...DISTRIBUTED_TABLES.map(([t]) => t), ...COORDINATOR_TABLES]);
    const tables = (
      await c.query<{ t: string }>(
        `SELECT relname AS t FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND NOT relispartition`,
      )
    ).rows.map((r) => r.t);
    const unknown = tables.filter((t) => !known.has(t));
    if (unknown.length)
      throw new Error(
        `db:distribute does not know the table(s) ${unknown.join(', ')}: give each its place in packages/db/src/citus/distribute.ts`,
      );
    const exists = new Set(tables);

    for (const t of REFERENCE_TABLES) {
      if (done.has(t) || !exists.has(t)) continue;
      log(`reference table ${t}`);
      await c.query(`SELECT create_reference_table($1)`, [t]);
      report.reference.push(t);
    }
    for (const [t, column, colocateWith] of DISTRIBUTED_TABLES) {
      if (done.has(t) || !exists.has(t)) continue;
      log(`distributing ${t} by ${column}${colocateWith ? ` (colocated with ${colocateWith})` : ''}`);
      const args: unknown[] = [t, column];
      let call = `create_distributed_table($1, $2`;
      if (colocateWith) {
        args.push(colocateWith);
        call += `, colocate_with => $${args.length}`;
      } else {
        call += `, colocate_with => 'none'`;
        if (opts.shardCount) {
          args.push(opts.shardCount);
          call += `, shard_count => $${args.length}`;
        }
      }
      await c.query(`SELECT ${call})`, args);
      report.distributed.push(t);
    }
    return report;
  } finally {
    await c.end();
  }
}
