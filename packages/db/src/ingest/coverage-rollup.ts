/**
 * L7 decode coverage rollup (issue 17, packages/shared l7-coverage.ts): a batch's final TCP connection rows that
 * carry a decode class are counted per (minute, source service, destination service, class) and upserted into
 * `l7_coverage_minute` in the batch's transaction, so a workload's coverage is read without scanning flows.
 * Counted as the edge rollups count connections: interim reports left out, a same-node connection once (its
 * client side), each side named as the rollups name it.
 */
import { endpointServiceName, FLOW_IX, type IngestBatch, type L7CoverageClass } from '@sextant/shared';
import type pg from 'pg';
import { MINUTE_MS } from './rollups';
import { BatchEndpoints } from './rows';

export interface CoverageRollup {
  bucket: number;
  srcNamespace: string;
  srcService: string;
  dstNamespace: string;
  dstService: string;
  class: L7CoverageClass;
  connections: number;
}

export function foldCoverage(
  batch: Pick<IngestBatch, 'flows' | 'endpoints'>,
  ends = new BatchEndpoints(batch.endpoints),
): CoverageRollup[] {
  const rows = new Map<string, CoverageRollup>();
  for (const f of batch.flows) {
    const cls = f[FLOW_IX.l7Coverage];
    if (cls === null || !f[FLOW_IX.final]) continue;
    if (f[FLOW_IX.localPeer] && f[FLOW_IX.trafficDirection] === 'INGRESS') continue;
    const [s, d] = [ends.identity(f[FLOW_IX.sourceRef]), ends.identity(f[FLOW_IX.destinationRef])];
    const r: CoverageRollup = {
      bucket: Math.floor(f[FLOW_IX.time] / MINUTE_MS) * MINUTE_MS,
      srcNamespace: s.namespace ?? '',
      srcService: endpointServiceName({ ip: f[FLOW_IX.sourceIp], service: s.service, names: s.names }),
      dstNamespace: d.namespace ?? '',
      dstService: endpointServiceName({ ip: f[FLOW_IX.destinationIp], service: d.service, names: d.names }),
      class: cls,
      connections: 0,
    };
    const key = `${String(r.bucket).padStart(15, '0')}|${r.srcNamespace}|${r.srcService}|${r.dstNamespace}|${r.dstService}|${r.class}`;
    const prev = rows.get(key);
    if (prev) prev.connections++;
    else {
      r.connections = 1;
      rows.set(key, r);
    }
  }
  // One global key order, so concurrent batches cannot deadlock on each other's rows.
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

export async function upsertCoverage(client: pg.PoolClient, rows: readonly CoverageRollup[]): Promise<void> {
  if (rows.length === 0) return;
  const payload = rows.map((r) => ({
    bucket: r.bucket,
    src_namespace: r.srcNamespace,
    src_service: r.srcService,
    dst_namespace: r.dstNamespace,
    dst_service: r.dstService,
    class: r.class,
    connections: r.connections,
  }));
  await client.query(
    `INSERT INTO l7_coverage_minute AS t (bucket, src_namespace, src_service, dst_namespace, dst_service, class, connections)
     SELECT to_timestamp(r.bucket / 1000.0), r.src_namespace, r.src_service, r.dst_namespace, r.dst_service, r.class, r.connections
       FROM jsonb_to_recordset($1::jsonb) AS r(bucket bigint, src_namespace text, src_service text, dst_namespace text,
            dst_service text, class text, connections bigint)
     ON CONFLICT (bucket, src_namespace, src_service, dst_namespace, dst_service, class) DO UPDATE SET
       connections = t.connections + EXCLUDED.connections`,
    [JSON.stringify(payload)],
  );
}
