/**
 * The background maintenance job: creates partitions ahead, drops expired ones, and prunes the small
 * tables (receipts, collector health, expired sessions) with the same horizons.
 */
import type pg from 'pg';
import { rebuildDirtyBlocks } from './block-rollups';
import { rebuildDirtyHours } from './hour-rollups';
import { dayOf, dropExpiredPartitions, ensurePartitions, PARTITIONED_TABLES, type RetentionPolicy } from './partitions';

export interface MaintenanceOptions extends RetentionPolicy {
  /** Days of partitions to create ahead of today. */
  daysAhead: number;
}

export interface MaintenanceReport {
  created: number;
  /** Closed hours whose hour rollups were (re)built from minute rollups. */
  hoursRolledUp: number;
  /** Closed six-hour blocks whose block rollups were (re)built from hour rollups. */
  blocksRolledUp: number;
  dropped: string[];
  prunedRows: number;
}

export async function runMaintenance(pool: pg.Pool, opts: MaintenanceOptions, now = Date.now()): Promise<MaintenanceReport> {
  const today = dayOf(now);
  const days: number[] = [];
  for (let d = today - 1; d <= today + opts.daysAhead; d++) days.push(d);
  const created = await ensurePartitions(pool, PARTITIONED_TABLES, days);
  const hoursRolledUp = await rebuildDirtyHours(pool, now);
  const blocksRolledUp = await rebuildDirtyBlocks(pool, now);
  const dropped = await dropExpiredPartitions(pool, opts, now);
  const horizon = new Date(now - opts.rawDays * 86_400_000);
  let prunedRows = 0;
  prunedRows += (await pool.query('DELETE FROM ingest_receipts WHERE received_at < $1', [horizon])).rowCount ?? 0;
  prunedRows += (await pool.query('DELETE FROM collector_health WHERE time < $1', [horizon])).rowCount ?? 0;
  prunedRows += (await pool.query('DELETE FROM sessions WHERE expires_at < now()')).rowCount ?? 0;
  // Marks of blocks whose rollup partitions are gone (nothing left to build).
  prunedRows +=
    (await pool.query('DELETE FROM rollup_dirty_blocks WHERE block < $1', [new Date((today - opts.rollupDays) * 86_400_000)])).rowCount ??
    0;
  return { created, hoursRolledUp, blocksRolledUp, dropped, prunedRows };
}

/** Runs maintenance now and then every intervalMs; returns a stop function. Errors are reported, not thrown. */
export function startMaintenanceLoop(
  pool: pg.Pool,
  opts: MaintenanceOptions & { intervalMs: number; onError?: (err: unknown) => void; onReport?: (r: MaintenanceReport) => void },
): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      const r = await runMaintenance(pool, opts);
      opts.onReport?.(r);
    } catch (err) {
      opts.onError?.(err);
    }
    if (!stopped) timer = setTimeout(tick, opts.intervalMs);
  };
  void tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
