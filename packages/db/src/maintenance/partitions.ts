/**
 * Daily range partitions for the telemetry tables: created ahead of time by the maintenance job and on
 * demand by ingest (a batch carrying an unusual day never fails), dropped whole when they pass retention.
 */
import { MAX_EPOCH_MS } from '@sextant/shared';
import type pg from 'pg';
import { inTransaction } from '../client';

export const RAW_TABLES = ['flows', 'l7_events'] as const;
export const ROLLUP_TABLES = ['edge_minute', 'edge_hour', 'edge_6h', 'latency_minute', 'l7_coverage_minute', 'l7_record_minute'] as const;
export const PARTITIONED_TABLES = [...RAW_TABLES, ...ROLLUP_TABLES] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

const DAY_MS = 86_400_000;

/** UTC day number (days since epoch) of an epoch-ms time. */
export function dayOf(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS);
}

export function partitionName(table: PartitionedTable, day: number): string {
  return `${table}_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** Parses the day back out of a partition name, or null for names we did not make. */
export function partitionDay(name: string): number | null {
  const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  if (!m) return null;
  return dayOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

// Partitions known to exist, so the ingest hot path issues no DDL for days it has seen.
const known = new Set<string>();

/** Forgets cached partition names (after partitions were dropped or in tests with fresh databases). */
export function forgetKnownPartitions(): void {
  known.clear();
}

export async function ensurePartitions(pool: pg.Pool, tables: readonly PartitionedTable[], days: Iterable<number>): Promise<number> {
  const missing: { table: PartitionedTable; day: number; name: string }[] = [];
  for (const day of new Set(days)) {
    // The bounds come from this file's DDL: toISOString() of a day past year 9999 is '+010000-…'.
    if (!Number.isInteger(day) || day < 0 || day > dayOf(MAX_EPOCH_MS))
      throw new RangeError(`no partition for day ${day}: times must lie in 1970–9999`);
    for (const table of tables) {
      const name = partitionName(table, day);
      if (!known.has(`${pool.options.connectionString}|${name}`)) missing.push({ table, day, name });
    }
  }
  if (missing.length === 0) return 0;
  let created = 0;
  await inTransaction(pool, async (client) => {
    // Serialise partition DDL across server replicas and concurrent ingest transactions.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['sextant.partitions']);
    for (const { table, day, name } of missing) {
      const from = new Date(day * DAY_MS).toISOString();
      const to = new Date((day + 1) * DAY_MS).toISOString();
      // Identifiers are built from our own constants and a day number, never from user input.
      const res = await client.query(`SELECT 1 FROM pg_class WHERE relname = $1 AND relkind IN ('r', 'p')`, [name]);
      if (res.rowCount === 0) {
        await client.query(`CREATE TABLE ${name} PARTITION OF ${table} FOR VALUES FROM ('${from}') TO ('${to}')`);
        created++;
      }
    }
  });
  for (const { name } of missing) known.add(`${pool.options.connectionString}|${name}`);
  return created;
}

export interface PartitionInfo {
  table: PartitionedTable;
  name: string;
  day: number;
}

export async function listPartitions(pool: pg.Pool): Promise<PartitionInfo[]> {
  const res = await pool.query<{ parent: string; child: string }>(
    `SELECT p.relname AS parent, c.relname AS child
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname = ANY($1::text[])
      ORDER BY c.relname`,
    [PARTITIONED_TABLES as unknown as string[]],
  );
  const out: PartitionInfo[] = [];
  for (const r of res.rows) {
    const day = partitionDay(r.child);
    if (day !== null) out.push({ table: r.parent as PartitionedTable, name: r.child, day });
  }
  return out;
}

export interface RetentionPolicy {
  /** Days of raw flows and L7 events to keep. */
  rawDays: number;
  /** Days of rollups (edge_minute, edge_hour, edge_6h, latency_minute) to keep. */
  rollupDays: number;
}

/** Drops whole partitions older than the retention horizon; returns the names dropped. */
export async function dropExpiredPartitions(pool: pg.Pool, policy: RetentionPolicy, now = Date.now()): Promise<string[]> {
  const today = dayOf(now);
  const dropped: string[] = [];
  for (const p of await listPartitions(pool)) {
    const keepDays = (RAW_TABLES as readonly string[]).includes(p.table) ? policy.rawDays : policy.rollupDays;
    // Day D's partition holds [D, D+1); keep every partition that can hold data newer than now - keepDays.
    if (p.day < today - keepDays) {
      await pool.query(`DROP TABLE IF EXISTS ${p.name}`);
      known.delete(`${pool.options.connectionString}|${p.name}`);
      dropped.push(p.name);
    }
  }
  return dropped;
}
