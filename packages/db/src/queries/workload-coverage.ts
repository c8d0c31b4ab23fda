/**
 * L7 decode coverage per workload (issue 17, packages/shared l7-coverage.ts): for each service, how many of its
 * connections in a window were decoded (cleartext, TLS via OpenSSL, TLS via Node) and how many were not (TLS not
 * decoded, HTTP/2 not decodable, protocol not recognized), from `l7_coverage_minute`. A connection counts for
 * both its ends (once when both ends are the same service). The Collectors page lists every workload, the map's
 * service panel one. Bounds are widened to whole minutes.
 */
import { L7_COVERAGE_CLASSES, type L7CoverageClass } from '@sextant/shared';
import type pg from 'pg';
import { Params } from './filter-sql';

const MINUTE_MS = 60_000;
/** Workloads listed at most (the most connections first). */
export const MAX_COVERAGE_WORKLOADS = 500;

export interface WorkloadCoverageInput {
  since: number;
  until: number;
  /** One workload only (the map's service panel). */
  service?: string;
  namespace?: string;
  /** Also Sextant's own services and the connections with them; left out by default, as on the map. */
  includeSelf?: boolean;
}

export interface WorkloadCoverage {
  namespace: string;
  service: string;
  /** Connections by decode class (every class present, zero when none). */
  connections: Record<L7CoverageClass, number>;
  total: number;
  /** Connections whose requests were decoded (cleartext + TLS via OpenSSL or Node). */
  decoded: number;
}

export interface WorkloadCoverageResult {
  /** The window counted (epoch ms), widened to whole minutes. */
  since: number;
  until: number;
  workloads: WorkloadCoverage[];
}

export async function workloadCoverage(pool: pg.Pool, input: WorkloadCoverageInput): Promise<WorkloadCoverageResult> {
  const since = Math.floor(input.since / MINUTE_MS) * MINUTE_MS;
  const until = Math.ceil(input.until / MINUTE_MS) * MINUTE_MS;
  const p = new Params();
  const edgeWhere = [`c.bucket >= to_timestamp(${p.add(since / 1000)})`, `c.bucket < to_timestamp(${p.add(until / 1000)})`];
  if (!input.includeSelf)
    edgeWhere.push(`NOT EXISTS (SELECT 1 FROM services s WHERE s.kind = 'self'
      AND ((s.namespace = c.src_namespace AND s.name = c.src_service) OR (s.namespace = c.dst_namespace AND s.name = c.dst_service)))`);
  const sideWhere: string[] = [];
  if (input.service !== undefined) {
    const s = p.add(input.service);
    sideWhere.push(`x.service = ${s}`);
    // only the edges of that service are read (the panel of a long window)
    edgeWhere.push(`(c.src_service = ${s} OR c.dst_service = ${s})`);
    if (input.namespace !== undefined) sideWhere.push(`x.namespace = ${p.add(input.namespace)}`);
  }
  const res = await pool.query<{ namespace: string; service: string; class: string; n: string | number }>(
    `WITH c AS (SELECT * FROM l7_coverage_minute c WHERE ${edgeWhere.join(' AND ')}),
          x AS (SELECT src_namespace AS namespace, src_service AS service, class, connections FROM c
                UNION ALL
                SELECT dst_namespace, dst_service, class, connections FROM c
                 WHERE NOT (dst_namespace = src_namespace AND dst_service = src_service)),
          w AS (SELECT x.namespace, x.service, x.class, sum(x.connections) AS n FROM x
                ${sideWhere.length ? `WHERE ${sideWhere.join(' AND ')}` : ''} GROUP BY 1, 2, 3),
          top AS (SELECT namespace, service FROM w GROUP BY 1, 2 ORDER BY sum(n) DESC, 2, 1 LIMIT ${MAX_COVERAGE_WORKLOADS})
     SELECT w.namespace, w.service, w.class, w.n FROM w JOIN top USING (namespace, service)`,
    p.values,
  );
  const byWorkload = new Map<string, WorkloadCoverage>();
  for (const r of res.rows) {
    if (!(L7_COVERAGE_CLASSES as readonly string[]).includes(r.class)) continue;
    const key = `${r.namespace}\u0000${r.service}`;
    let w = byWorkload.get(key);
    if (!w) {
      const connections = Object.fromEntries(L7_COVERAGE_CLASSES.map((c) => [c, 0])) as Record<L7CoverageClass, number>;
      byWorkload.set(key, (w = { namespace: r.namespace, service: r.service, connections, total: 0, decoded: 0 }));
    }
    const n = Number(r.n);
    w.connections[r.class as L7CoverageClass] += n;
    w.total += n;
  }
  const workloads = [...byWorkload.values()];
  for (const w of workloads) w.decoded = w.connections.cleartext + w.connections['tls-openssl'] + w.connections['tls-node'];
  // Most connections first; then by name, so the order is stable.
  workloads.sort((a, b) => b.total - a.total || a.service.localeCompare(b.service) || a.namespace.localeCompare(b.namespace));
  return { since, until, workloads };
}
