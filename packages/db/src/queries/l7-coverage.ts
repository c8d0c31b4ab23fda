/**
 * Coverage of HTTP records in a window (docs/l7-line-rate.md): how many exchanges happened — counted from the
 * edge rollups, which hold every exchange (kernel aggregates plus full-path records) — against how many were
 * kept as records, by why they were kept (l7_events.sampling: error, slow, capture, sampled; none = the full
 * path). The flows page, the flow drawer and the map's service panel say this next to records, so nobody reads
 * a sample as the whole. Both counts cover the same bounds (the rollups' bucket-aligned window), and both come
 * from rollups kept at ingest: records from `l7_record_minute` (per minute, edge and reason; ingest/record-rollup.ts),
 * except before its epoch — records stored by an older version — where l7_events itself is counted.
 */
import type { L7Sampling } from '@sextant/shared';
import type pg from 'pg';
import { Params } from './filter-sql';
import { windowSource } from './window-source';

export interface L7CoverageInput {
  since: number;
  until: number;
  /** Only exchanges with this service at either end (the map's service panel). */
  service?: string;
  namespace?: string;
  /** Also Sextant's own services (label sextant:self, kind 'self' in services); left out by default. */
  includeSelf?: boolean;
}

export interface L7Coverage {
  protocol: 'http';
  /** The window both counts cover (epoch ms): the request's, widened to whole rollup buckets. */
  since: number;
  until: number;
  /** Every HTTP exchange (rollups). */
  exchanges: number;
  /** HTTP records stored. */
  records: number;
  /** Records by why they were kept; `full`: the full path (no sampling: every exchange of its socket is a record). */
  kept: Record<L7Sampling | 'full', number>;
}

const PROTOCOL = 'http';

export async function l7Coverage(pool: pg.Pool, input: L7CoverageInput): Promise<L7Coverage> {
  const p = new Params();
  const src = await windowSource(pool, input.since, input.until, p);
  const edgeWhere = [`e.protocol = ${p.add(PROTOCOL)}`, ...sideFilters('e', input, p)];
  const exchanges = await pool.query<{ n: number | null }>(
    `SELECT sum(e.requests) AS n FROM ${src.sql} e WHERE ${edgeWhere.join(' AND ')}`,
    p.values,
  );

  // Records: the same bounds, counted from the per-minute rollup kept at ingest (l7_record_minute); before its
  // epoch (records stored by an older version) from l7_events itself. The epoch is a minute, so the two never
  // overlap.
  const epoch = await recordsEpoch(pool);
  const split = Math.min(Math.max(epoch, src.since), src.until);
  const records = [
    ...(split < src.until ? await rolledUpRecords(pool, input, split, src.until) : []),
    ...(src.since < split ? await storedRecords(pool, input, src.since, split) : []),
  ];
  const kept: L7Coverage['kept'] = { error: 0, slow: 0, capture: 0, sampled: 0, full: 0 };
  for (const r of records) {
    const key = (r.sampling || 'full') as keyof L7Coverage['kept'];
    if (key in kept) kept[key] += Number(r.n);
  }
  return {
    protocol: PROTOCOL,
    since: src.since,
    until: src.until,
    exchanges: Number(exchanges.rows[0]?.n ?? 0),
    records: Object.values(kept).reduce((a, b) => a + b, 0),
    kept,
  };
}

/** The service (either end) and self filters on a rollup's named sides (edge_minute, l7_record_minute alike). */
function sideFilters(a: string, input: L7CoverageInput, p: Params): string[] {
  const out: string[] = [];
  if (input.service !== undefined) {
    const s = p.add(input.service);
    const ns = input.namespace !== undefined ? p.add(input.namespace) : null;
    out.push(
      ns
        ? `((${a}.src_service = ${s} AND ${a}.src_namespace = ${ns}) OR (${a}.dst_service = ${s} AND ${a}.dst_namespace = ${ns}))`
        : `(${a}.src_service = ${s} OR ${a}.dst_service = ${s})`,
    );
  }
  if (!input.includeSelf) {
    out.push(`NOT EXISTS (SELECT 1 FROM services s WHERE s.kind = 'self'
      AND ((s.namespace = ${a}.src_namespace AND s.name = ${a}.src_service) OR (s.namespace = ${a}.dst_namespace AND s.name = ${a}.dst_service)))`);
  }
  return out;
}

/** Where l7_record_minute starts holding every record (epoch ms); l7_events is counted before it. */
async function recordsEpoch(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ t: string }>(
    `SELECT (extract(epoch FROM since) * 1000)::bigint AS t FROM rollup_epochs WHERE name = 'l7_record_minute'`,
  );
  return r.rows[0] ? Number(r.rows[0].t) : 0;
}

type RecordCount = { sampling: string | null; n: number | string };

/** Records in [since, until) by sampling reason, from the per-minute rollup ('' = the full path). */
async function rolledUpRecords(pool: pg.Pool, input: L7CoverageInput, since: number, until: number): Promise<RecordCount[]> {
  const q = new Params();
  const where = [
    `r.bucket >= to_timestamp(${q.add(since / 1000)})`,
    `r.bucket < to_timestamp(${q.add(until / 1000)})`,
    `r.protocol = ${q.add(PROTOCOL)}`,
    ...sideFilters('r', input, q),
  ];
  const res = await pool.query<RecordCount>(
    `SELECT r.sampling, sum(r.records) AS n FROM l7_record_minute r WHERE ${where.join(' AND ')} GROUP BY r.sampling`,
    q.values,
  );
  return res.rows;
}

/** Records in [since, until) by sampling reason, counted in l7_events (times before the rollup's epoch). */
async function storedRecords(pool: pg.Pool, input: L7CoverageInput, since: number, until: number): Promise<RecordCount[]> {
  // The same naming of each side as the rollups (service, else its first DNS name, else its address), so a
  // panel's service matches records of unnamed peers too.
  const q = new Params();
  const side = (x: 'src' | 'dst') => `coalesce(l.${x}_service, l.${x}_names[1], host(l.${x}_ip))`;
  const where = [
    `l.time >= to_timestamp(${q.add(since / 1000)})`,
    `l.time < to_timestamp(${q.add(until / 1000)})`,
    `l.protocol = ${q.add(PROTOCOL)}`,
  ];
  if (input.service !== undefined) {
    const s = q.add(input.service);
    const ns = input.namespace !== undefined ? q.add(input.namespace) : null;
    where.push(
      ns
        ? `((${side('src')} = ${s} AND coalesce(l.src_namespace, '') = ${ns}) OR (${side('dst')} = ${s} AND coalesce(l.dst_namespace, '') = ${ns}))`
        : `(${side('src')} = ${s} OR ${side('dst')} = ${s})`,
    );
  }
  if (!input.includeSelf) {
    where.push(`NOT EXISTS (SELECT 1 FROM services s WHERE s.kind = 'self'
      AND ((s.namespace = coalesce(l.src_namespace, '') AND s.name = l.src_service) OR (s.namespace = coalesce(l.dst_namespace, '') AND s.name = l.dst_service)))`);
  }
  const res = await pool.query<RecordCount>(
    `SELECT l.sampling, count(*) AS n FROM l7_events l WHERE ${where.join(' AND ')} GROUP BY l.sampling`,
    q.values,
  );
  return res.rows;
}
