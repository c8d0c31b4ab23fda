/**
 * Where a window's edge rollups come from. Short windows read per-minute rows. Long windows read per-hour
 * rows (a 24 h map reads 24 rows per edge instead of 1440) for closed hours the maintenance job has built,
 * and minute rows for the current hour and any hour still marked dirty (late data not yet folded in), read by
 * bucket ranges (a per-row date_trunc test over every minute row of the window cost ~1 s on a 24 h window).
 * Hour reads are widened to whole hours; the returned bounds say what was actually read.
 */
import type { Params } from './filter-sql';

export const HOUR_TABLE_THRESHOLD_MS = 6 * 3_600_000;

export interface RollupSource {
  /** A parenthesised subquery with edge_minute's columns. */
  sql: string;
  bucketMs: number;
  since: number;
  until: number;
}

export function rollupSource(since: number, until: number, p: Params, now = Date.now()): RollupSource {
  if (until - since <= HOUR_TABLE_THRESHOLD_MS) {
    const m = 60_000;
    const s = Math.floor(since / m) * m;
    const u = Math.ceil(until / m) * m;
    return {
      sql: `(SELECT * FROM edge_minute WHERE bucket >= to_timestamp(${p.add(s / 1000)}) AND bucket < to_timestamp(${p.add(u / 1000)}))`,
      bucketMs: m,
      since: s,
      until: u,
    };
  }
  const h = 3_600_000;
  const s = Math.floor(since / h) * h;
  const u = Math.ceil(until / h) * h;
  const sp = p.add(s / 1000);
  const up = p.add(u / 1000);
  const cur = p.add((Math.floor(now / h) * h) / 1000);
  return {
    sql: `(SELECT * FROM edge_hour
            WHERE bucket >= to_timestamp(${sp}) AND bucket < to_timestamp(${up}) AND bucket < to_timestamp(${cur})
              AND bucket NOT IN (SELECT hour FROM rollup_dirty_hours)
           UNION ALL
           SELECT * FROM edge_minute
            WHERE bucket >= greatest(to_timestamp(${sp}), to_timestamp(${cur})) AND bucket < to_timestamp(${up})
           UNION ALL
           SELECT m.* FROM rollup_dirty_hours d JOIN edge_minute m ON m.bucket >= d.hour AND m.bucket < d.hour + interval '1 hour'
            WHERE d.hour >= to_timestamp(${sp}) AND d.hour < to_timestamp(${up}) AND d.hour < to_timestamp(${cur}))`,
    bucketMs: h,
    since: s,
    until: u,
  };
}
