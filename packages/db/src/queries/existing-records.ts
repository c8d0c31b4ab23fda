/**
 * Which of a set of flow / L7 event ids are already stored: imports (Hubble captures) use it so that
 * overlapping or appended files add only the records that are new.
 */
import type pg from 'pg';

export interface RecordIds {
  /** Flow ids with their times (epoch ms), so only the partitions of those days are read. */
  flows: { id: string; time: number }[];
  l7: { id: string; time: number }[];
}

const EPOCH_MS = (param: string) => `('epoch'::timestamptz + ${param}::double precision * interval '1 millisecond')`;

async function existing(pool: pg.Pool, table: 'flows' | 'l7_events', items: { id: string; time: number }[]): Promise<Set<string>> {
  if (!items.length) return new Set();
  const col = table === 'flows' ? 'flow_id' : 'event_id';
  const times = items.map((i) => i.time);
  const { rows } = await pool.query<{ id: string }>(
    `SELECT DISTINCT ${col}::text AS id FROM ${table}
      WHERE time >= ${EPOCH_MS('$1')} AND time <= ${EPOCH_MS('$2')} AND ${col} = ANY($3::uuid[])`,
    [Math.min(...times) - 1, Math.max(...times) + 1, items.map((i) => i.id)],
  );
  return new Set(rows.map((r) => r.id));
}

export async function existingRecordIds(pool: pg.Pool, ids: RecordIds): Promise<{ flows: Set<string>; l7: Set<string> }> {
  return { flows: await existing(pool, 'flows', ids.flows), l7: await existing(pool, 'l7_events', ids.l7) };
}
