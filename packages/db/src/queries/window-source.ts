/**
 * Edge rollups for a reader that totals a whole window (the service map): the coarsest rows that are
 * complete. A long window (over 6 h, widened to whole hours like rollupSource) reads
 *   - edge_6h for closed six-hour blocks inside it that the job has built and nothing has dirtied since
 *     (not in rollup_dirty_blocks, none of their hours in rollup_dirty_hours),
 *   - edge_hour for the other closed hours that are not dirty,
 *   - edge_minute for dirty hours and the current hour, by bucket ranges (index scans, no per-row test).
 * A 24 h map then reads 3–4 block rows, ≤ 10 hour rows and the current hour's minutes per key instead of 24
 * hour rows. The pieces never overlap, so sums and merged histograms equal those of the minute rows.
 * Which piece serves which time is decided from the two small mark tables first (one short query), so the
 * rollup query itself has only plain bucket filters on parameters (Citus pushes them down to each shard).
 * Short windows read minute rows (rollupSource).
 */
import type pg from 'pg';
import { HOUR_MS } from '../ingest/rollups';
import { BLOCK_MS } from '../maintenance/hour-rollups';
import type { Params } from './filter-sql';
import { HOUR_TABLE_THRESHOLD_MS, rollupSource, type RollupSource } from './rollup-source';

/** Which rollup table serves which time of a window (epoch ms, each a bucket start). */
export interface WindowPlan {
  blocks: number[];
  hours: number[];
  /** [from, to) ranges read from edge_minute. */
  minuteRanges: [number, number][];
}

/** Splits the hour-aligned window [s, u) given the marks; pure, so the rules are tested without a database. */
export function planWindow(s: number, u: number, currentHour: number, dirtyHours: Set<number>, dirtyBlocks: Set<number>): WindowPlan {
  const closedEnd = Math.min(u, currentHour);
  const blocks: number[] = [];
  const hours: number[] = [];
  const minuteHours: number[] = [];
  for (let h = s; h < closedEnd;) {
    const b = Math.floor(h / BLOCK_MS) * BLOCK_MS;
    if (b === h && b + BLOCK_MS <= closedEnd && !dirtyBlocks.has(b) && !hasDirtyHour(b, dirtyHours)) {
      blocks.push(b);
      h += BLOCK_MS;
      continue;
    }
    (dirtyHours.has(h) ? minuteHours : hours).push(h);
    h += HOUR_MS;
  }
  for (let h = Math.max(s, currentHour); h < u; h += HOUR_MS) minuteHours.push(h);
  const minuteRanges: [number, number][] = [];
  for (const h of minuteHours) {
    const last = minuteRanges[minuteRanges.length - 1];
    if (last && last[1] === h) last[1] = h + HOUR_MS;
    else minuteRanges.push([h, h + HOUR_MS]);
  }
  return { blocks, hours, minuteRanges };
}

function hasDirtyHour(block: number, dirtyHours: Set<number>): boolean {
  for (let h = block; h < block + BLOCK_MS; h += HOUR_MS) if (dirtyHours.has(h)) return true;
  return false;
}

export async function windowSource(pool: pg.Pool, since: number, until: number, p: Params, now = Date.now()): Promise<RollupSource> {
  if (until - since <= HOUR_TABLE_THRESHOLD_MS) return rollupSource(since, until, p, now);
  const s = Math.floor(since / HOUR_MS) * HOUR_MS;
  const u = Math.ceil(until / HOUR_MS) * HOUR_MS;
  const marks = await pool.query<{ kind: string; t: string }>(
    `SELECT 'h' AS kind, (extract(epoch FROM hour) * 1000)::bigint AS t FROM rollup_dirty_hours WHERE hour >= to_timestamp($1) AND hour < to_timestamp($2)
     UNION ALL
     SELECT 'b', (extract(epoch FROM block) * 1000)::bigint FROM rollup_dirty_blocks WHERE block >= to_timestamp($1) AND block < to_timestamp($2)`,
    [s / 1000, u / 1000],
  );
  const dirtyHours = new Set<number>();
  const dirtyBlocks = new Set<number>();
  for (const r of marks.rows) (r.kind === 'h' ? dirtyHours : dirtyBlocks).add(Number(r.t));
  const plan = planWindow(s, u, Math.floor(now / HOUR_MS) * HOUR_MS, dirtyHours, dirtyBlocks);
  const ts = (ms: number[]) => `${p.add(ms.map((t) => new Date(t).toISOString()))}::timestamptz[]`;
  const parts: string[] = [];
  if (plan.blocks.length) parts.push(`SELECT * FROM edge_6h WHERE bucket = ANY(${ts(plan.blocks)})`);
  if (plan.hours.length) parts.push(`SELECT * FROM edge_hour WHERE bucket = ANY(${ts(plan.hours)})`);
  if (plan.minuteRanges.length) {
    const ranges = plan.minuteRanges.map(
      ([a, b]) => `(bucket >= to_timestamp(${p.add(a / 1000)}) AND bucket < to_timestamp(${p.add(b / 1000)}))`,
    );
    parts.push(`SELECT * FROM edge_minute WHERE ${ranges.join(' OR ')}`);
  }
  // An empty window (until ≤ since) still needs a source with edge_minute's columns.
  if (!parts.length) parts.push('SELECT * FROM edge_minute WHERE FALSE');
  return { sql: `(${parts.join('\n UNION ALL ')})`, bucketMs: HOUR_MS, since: s, until: u };
}
