/**
 * L7 decode coverage rollup (issue 17, packages/shared l7-coverage.ts): a batch's final TCP connection rows that
 * carry a decode class are counted per (minute, source service, destination service, class) and upserted into
 * `l7_coverage_minute` in the batch's transaction, so a workload's coverage is read without scanning flows.
 * Counted as the edge rollups count connections: interim reports left out, a same-node connection once (its
 * client side), each side named as the rollups name it.
 */
import { FLOW_IX, type IngestBatch, type L7CoverageClass } from '@sextant/shared';
import { keyedUpsert, KeyedRows, SERVICE_PAIR } from './keyed-upsert';
import { MINUTE_MS } from './rollups';
import { BatchEndpoints } from './rows';
import { servicePair, servicePairParts, servicePairPayload, type ServicePair } from './service-pair';

export interface CoverageRollup extends ServicePair {
  bucket: number;
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
    const pair = servicePair(
      ends.identity(f[FLOW_IX.sourceRef]),
      f[FLOW_IX.sourceIp],
      ends.identity(f[FLOW_IX.destinationRef]),
      f[FLOW_IX.destinationIp],
    );
    const bucket = Math.floor(f[FLOW_IX.time] / MINUTE_MS) * MINUTE_MS;
    rows.get(bucket, [...servicePairParts(pair), cls], () => ({ bucket, ...pair, class: cls, connections: 0 })).connections++;
  }
  return rows.sorted();
}

export const upsertCoverage = keyedUpsert<CoverageRollup>({
  table: 'l7_coverage_minute',
  keys: [...SERVICE_PAIR, ['class', 'text']],
  sums: [['connections', 'bigint']],
  payload: (r) => ({ bucket: r.bucket, ...servicePairPayload(r), class: r.class, connections: r.connections }),
});
