/**
 * Coverage of HTTP records in a window (docs/l7-line-rate.md): how many exchanges happened — counted from the
 * edge rollups, which hold every exchange (kernel aggregates plus full-path records) — against how many were
 * kept as records, by why they were kept (l7_events.sampling: error, slow, capture, sampled; none = the full
 * path). The flows page, the flow drawer and the map's service panel say this next to records, so nobody reads
 * a sample as the whole. Both counts cover the same bounds (the rollups' bucket-aligned window).
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
  const edgeWhere = [`e.protocol = ${p.add(PROTOCOL)}`];
  if (input.service !== undefined) {
    const s = p.add(input.service);
    const ns = input.namespace !== undefined ? p.add(input.namespace) : null;
    edgeWhere.push(
      ns
        ? `((e.src_service = ${s} AND e.src_namespace = ${ns}) OR (e.dst_service = ${s} AND e.dst_namespace = ${ns}))`
        : `(e.src_service = ${s} OR e.dst_service = ${s})`,
    );
  }
  if (!input.includeSelf) {
    edgeWhere.push(`NOT EXISTS (SELECT 1 FROM services s WHERE s.kind = 'self'
      AND ((s.namespace = e.src_namespace AND s.name = e.src_service) OR (s.namespace = e.dst_namespace AND s.name = e.dst_service)))`);
  }
  const exchanges = await pool.query<{ n: number | null }>(
    `SELECT sum(e.requests) AS n FROM ${src.sql} e WHERE ${edgeWhere.join(' AND ')}`,
    p.values,
  );

  // Records: the same bounds, the same naming of each side as the rollups (service, else its first DNS name,
  // else its address) so a panel's service matches records of unnamed peers too.
  const q = new Params();
  const side = (x: 'src' | 'dst') => `coalesce(l.${x}_service, l.${x}_names[1], host(l.${x}_ip))`;
  const where = [
    `l.time >= to_timestamp(${q.add(src.since / 1000)})`,
    `l.time < to_timestamp(${q.add(src.until / 1000)})`,
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
  const records = await pool.query<{ sampling: string | null; n: number }>(
    `SELECT l.sampling, count(*) AS n FROM l7_events l WHERE ${where.join(' AND ')} GROUP BY l.sampling`,
    q.values,
  );
  const kept: L7Coverage['kept'] = { error: 0, slow: 0, capture: 0, sampled: 0, full: 0 };
  for (const r of records.rows) {
    const key = (r.sampling ?? 'full') as keyof L7Coverage['kept'];
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
