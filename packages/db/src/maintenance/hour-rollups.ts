/**
 * Builds edge_hour from edge_minute for closed hours that ingest marked dirty: each such hour is
 * recomputed whole (replace, not add), so running twice or after late data is always correct. Readers use
 * edge_hour only for closed hours that are not dirty, and minute rows for the rest (see rollup-source.ts).
 * Rebuilding an hour marks its six-hour block for block-rollups.ts in the same transaction.
 */
import type pg from 'pg';
import { inTransaction } from '../client';
import { HOUR_MS } from '../ingest/rollups';
import { dayOf, ensurePartitions } from './partitions';

/** Six-hour blocks (00, 06, 12, 18 UTC) of edge_6h, built by block-rollups.ts. */
export const BLOCK_MS = 6 * HOUR_MS;

const KEYS = 'src_namespace, src_service, dst_namespace, dst_service, protocol, status_class';

/**
 * Replaces the rows of `target` at bucket `startSec` (epoch seconds) with the rows of `source` in
 * [startSec, startSec + spanSec) folded per key: counters summed, histograms merged bucket by bucket.
 * Table names come from this package's constants, never from input.
 */
export async function foldRollup(
  client: pg.PoolClient,
  source: 'edge_minute' | 'edge_hour',
  target: 'edge_hour' | 'edge_6h',
  startSec: number,
  spanSec: number,
): Promise<void> {
  const h = [startSec, spanSec];
  await client.query(`DELETE FROM ${target} WHERE bucket = to_timestamp($1)`, [startSec]);
  await client.query(
    `WITH e AS (SELECT * FROM ${source} WHERE bucket >= to_timestamp($1) AND bucket < to_timestamp($1 + $2)),
     totals AS (
       SELECT ${KEYS}, sum(requests) AS requests, sum(errors) AS errors, sum(bytes_sent) AS bytes_sent,
              sum(bytes_received) AS bytes_received, sum(retransmits) AS retransmits, sum(latency_sum_ns) AS latency_sum_ns
         FROM e GROUP BY ${KEYS}),
     hist AS (
       SELECT ${KEYS}, array_agg(i ORDER BY i) AS idx, array_agg(c ORDER BY i) AS cnt
         FROM (SELECT ${KEYS}, u.i, sum(u.c)::bigint AS c FROM e, unnest(e.hist_idx, e.hist_cnt) AS u(i, c) GROUP BY ${KEYS}, u.i) b
        GROUP BY ${KEYS})
     INSERT INTO ${target} (bucket, ${KEYS}, requests, errors, bytes_sent, bytes_received, retransmits, latency_sum_ns, hist_idx, hist_cnt)
     SELECT to_timestamp($1), t.src_namespace, t.src_service, t.dst_namespace, t.dst_service, t.protocol, t.status_class,
            t.requests, t.errors, t.bytes_sent, t.bytes_received, t.retransmits, t.latency_sum_ns,
            coalesce(h.idx, '{}'), coalesce(h.cnt, '{}')
       FROM totals t LEFT JOIN hist h USING (${KEYS})`,
    h,
  );
}

export async function rebuildDirtyHours(pool: pg.Pool, now = Date.now()): Promise<number> {
  const currentHour = Math.floor(now / HOUR_MS) * HOUR_MS;
  const dirty = await pool.query<{ h: string }>(
    `SELECT (extract(epoch FROM hour) * 1000)::bigint AS h FROM rollup_dirty_hours WHERE hour < to_timestamp($1 / 1000.0) ORDER BY hour`,
    [currentHour],
  );
  const hours = dirty.rows.map((r) => Number(r.h));
  if (hours.length) await ensurePartitions(pool, ['edge_hour'], hours.map(dayOf));
  let rebuilt = 0;
  for (const hour of hours) {
    await inTransaction(pool, async (client) => {
      const h = [hour / 1000];
      // Taking the mark first: ingest that marks this hour again meanwhile waits, then re-marks it. A mark
      // already gone was taken by another run since the list was read (it rebuilt the hour): nothing to do.
      const taken = await client.query('DELETE FROM rollup_dirty_hours WHERE hour = to_timestamp($1)', h);
      if (!taken.rowCount) return;
      rebuilt++;
      await foldRollup(client, 'edge_minute', 'edge_hour', hour / 1000, HOUR_MS / 1000);
      // Its block's rows are stale from now on: readers skip a marked block until the job rebuilds it.
      await client.query('INSERT INTO rollup_dirty_blocks (block) VALUES (to_timestamp($1)) ON CONFLICT (block) DO NOTHING', [
        (Math.floor(hour / BLOCK_MS) * BLOCK_MS) / 1000,
      ]);
    });
  }
  return rebuilt;
}
