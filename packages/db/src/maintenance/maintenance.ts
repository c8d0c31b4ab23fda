/**
 * The background maintenance job: creates partitions ahead, drops expired ones, and prunes the small
 * tables (receipts, collector health, expired sessions) with the same horizons.
 *
 * Every server replica runs the loop; one run at a time does the work. A run holds a session advisory lock
 * (`sextant.maintenance`, on the coordinator on Citus) and a run that finds it taken returns at once as
 * skipped, so with N replicas each closed hour and block is rebuilt once per change, not N times. The
 * rollup steps also take each dirty mark before rebuilding (a mark already gone is skipped), which keeps
 * them correct when called outside this lock (benchmarks, tests).
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
  /** Another run (this or another server process) held the maintenance lock: nothing was done. */
  skipped: boolean;
  created: number;
  /** Closed hours whose hour rollups were (re)built from minute rollups. */
  hoursRolledUp: number;
  /** Closed six-hour blocks whose block rollups were (re)built from hour rollups. */
  blocksRolledUp: number;
  dropped: string[];
  prunedRows: number;
}

const LOCK_KEY = 'sextant.maintenance';

export async function runMaintenance(pool: pg.Pool, opts: MaintenanceOptions, now = Date.now()): Promise<MaintenanceReport> {
  // The lock is the session's: one pooled connection holds it for the run (the work uses others).
  const lock = await pool.connect();
  let held = false;
  let broken: Error | undefined;
  try {
    held = (await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [LOCK_KEY])).rows[0]?.ok === true;
    if (!held) return { skipped: true, created: 0, hoursRolledUp: 0, blocksRolledUp: 0, dropped: [], prunedRows: 0 };
    return await maintain(pool, opts, now);
  } finally {
    // A connection that cannot unlock is not returned to the pool still holding the lock.
    if (held) await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_KEY]).catch((err: Error) => (broken = err));
    lock.release(broken);
  }
}

async function maintain(pool: pg.Pool, opts: MaintenanceOptions, now: number): Promise<MaintenanceReport> {
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
  return { skipped: false, created, hoursRolledUp, blocksRolledUp, dropped, prunedRows };
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
