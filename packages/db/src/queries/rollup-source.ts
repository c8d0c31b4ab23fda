/**
 * Picks the rollup table for a time window: per-minute rows for short windows, per-hour rows for long
 * ones (a 24 h map reads 24 rows per edge instead of 1440). Hour rows cover whole hours, so a long window
 * is widened to the hours it touches; the returned bounds say what was actually read.
 */
export const HOUR_TABLE_THRESHOLD_MS = 6 * 3_600_000;

export interface RollupSource {
  table: 'edge_minute' | 'edge_hour';
  bucketMs: number;
  since: number;
  until: number;
}

export function rollupSource(since: number, until: number): RollupSource {
  if (until - since > HOUR_TABLE_THRESHOLD_MS) {
    const h = 3_600_000;
    return { table: 'edge_hour', bucketMs: h, since: Math.floor(since / h) * h, until: Math.ceil(until / h) * h };
  }
  const m = 60_000;
  return { table: 'edge_minute', bucketMs: m, since: Math.floor(since / m) * m, until: Math.ceil(until / m) * m };
}
