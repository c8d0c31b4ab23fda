/**
 * Builds edge_6h (six-hour blocks starting at 00, 06, 12 and 18 UTC) from edge_hour, for closed blocks the
 * hour job marked in rollup_dirty_blocks. A block is rebuilt whole (replace, not add) and only once none of
 * its hours is still dirty, so it always equals the sum of its six hour rows. Readers use a block only when it
 * is closed, unmarked and none of its hours is dirty (queries/window-source.ts); otherwise they read its hours.
 */
import type pg from 'pg';
import { inTransaction } from '../client';
import { HOUR_MS } from '../ingest/rollups';
import { BLOCK_MS, foldRollup } from './hour-rollups';
import { dayOf, ensurePartitions } from './partitions';

export async function rebuildDirtyBlocks(pool: pg.Pool, now = Date.now()): Promise<number> {
  const currentHour = Math.floor(now / HOUR_MS) * HOUR_MS;
  // Closed blocks (all six hours before the current one) none of whose hours waits for the hour job.
  const ready = await pool.query<{ b: string }>(
    `SELECT (extract(epoch FROM b.block) * 1000)::bigint AS b FROM rollup_dirty_blocks b
      WHERE b.block + interval '6 hours' <= to_timestamp($1 / 1000.0)
        AND NOT EXISTS (SELECT 1 FROM rollup_dirty_hours d WHERE d.hour >= b.block AND d.hour < b.block + interval '6 hours')
      ORDER BY b.block`,
    [currentHour],
  );
  const blocks = ready.rows.map((r) => Number(r.b));
  if (blocks.length) await ensurePartitions(pool, ['edge_6h'], blocks.map(dayOf));
  let built = 0;
  for (const block of blocks) {
    await inTransaction(pool, async (client) => {
      // Taking the mark first: a concurrent job run waits here and then finds it gone.
      const taken = await client.query('DELETE FROM rollup_dirty_blocks WHERE block = to_timestamp($1)', [block / 1000]);
      if (!taken.rowCount) return;
      await foldRollup(client, 'edge_hour', 'edge_6h', block / 1000, BLOCK_MS / 1000);
      built++;
    });
  }
  return built;
}
