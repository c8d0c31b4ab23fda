/**
 * `sextant_l7_coverage_connections_total{service, namespace, class}`: connections per workload and L7 decode class
 * (issue 17, packages/shared l7-coverage.ts), counted from stored batches as the coverage rollup counts them
 * (packages/db ingest/coverage-rollup.ts): final rows with a class, a same-node connection once, each connection
 * for both its ends (once when both are the same service), each side named as the rollups name it.
 */
import { endpointServiceName, type Flow, type L7CoverageClass } from '@sextant/shared';

export const COVERAGE_METRIC = 'sextant_l7_coverage_connections_total';
export const COVERAGE_HELP =
  'TCP connections per workload by L7 decode class: cleartext, tls-openssl, tls-node (decoded); tls-undecoded, http2-undecodable, http2-midstream, unrecognized (seen, not decoded)';

export interface CoverageSample {
  labels: { service: string; namespace: string; class: L7CoverageClass };
  connections: number;
}

export function coverageSamples(flows: readonly Flow[]): CoverageSample[] {
  const out = new Map<string, CoverageSample>();
  const add = (namespace: string, service: string, cls: L7CoverageClass) => {
    const key = `${namespace}\u0000${service}\u0000${cls}`;
    const s = out.get(key);
    if (s) s.connections++;
    else out.set(key, { labels: { service, namespace, class: cls }, connections: 1 });
  };
  for (const f of flows) {
    if (!f.l7Coverage || !f.final) continue;
    if (f.localPeer && f.trafficDirection === 'INGRESS') continue;
    const [sNs, dNs] = [f.source.namespace ?? '', f.destination.namespace ?? ''];
    const src = endpointServiceName(f.source);
    const dst = endpointServiceName(f.destination);
    add(sNs, src, f.l7Coverage);
    if (dst !== src || dNs !== sNs) add(dNs, dst, f.l7Coverage);
  }
  return [...out.values()];
}
