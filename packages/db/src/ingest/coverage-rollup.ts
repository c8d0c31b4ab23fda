/**
 * L7 decode coverage rollup (issue 17, packages/shared l7-coverage.ts): a batch's final TCP connection rows that
 * carry a decode class are counted per (minute, source service, destination service, class) and upserted into
 * `l7_coverage_minute` in the batch's transaction, so a workload's coverage is read without scanning flows.
 * Counted as the edge rollups count connections: interim reports left out, a same-node connection once (its
 * client side), each side named as the rollups name it.
 */
import { endpointServiceName, FLOW_IX, type IngestBatch, type L7CoverageClass } from '@sextant/shared';
import { keyedUpsert, KeyedRows, SERVICE_PAIR } from './keyed-upsert';
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
  const rows = new KeyedRows<CoverageRollup>();
  for (const f of batch.flows) {
    const cls = f[FLOW_IX.l7Coverage];
    if (cls === null || !f[FLOW_IX.final]) continue;
    if (f[FLOW_IX.localPeer] && f[FLOW_IX.trafficDirection] === 'INGRESS') continue;
    const [s, d] = [ends.identity(f[FLOW_IX.sourceRef]), ends.identity(f[FLOW_IX.destinationRef])];
    const bucket = Math.floor(f[FLOW_IX.time] / MINUTE_MS) * MINUTE_MS;
    const srcNamespace = s.namespace ?? '';
    const srcService = endpointServiceName({ ip: f[FLOW_IX.sourceIp], service: s.service, names: s.names });
    const dstNamespace = d.namespace ?? '';
    const dstService = endpointServiceName({ ip: f[FLOW_IX.destinationIp], service: d.service, names: d.names });
    rows.get(bucket, [srcNamespace, srcService, dstNamespace, dstService, cls], () => ({
      bucket,
      srcNamespace,
      srcService,
      dstNamespace,
      dstService,
      class: cls,
      connections: 0,
    })).connections++;
  }
  return rows.sorted();
}

export const upsertCoverage = keyedUpsert<CoverageRollup>({
  table: 'l7_coverage_minute',
  keys: [...SERVICE_PAIR, ['class', 'text']],
  sums: [['connections', 'bigint']],
  payload: (r) => ({
    bucket: r.bucket,
    src_namespace: r.srcNamespace,
    src_service: r.srcService,
    dst_namespace: r.dstNamespace,
    dst_service: r.dstService,
    class: r.class,
    connections: r.connections,
  }),
});
