/**
 * Deterministic synthetic data for the UI benchmark page (and only that page, which exists only in bench
 * builds): a service map of N nodes and E edges across namespaces, and N flow records. Rendered by the real
 * components, without a database.
 */
import type { FlowRecord, ServiceMap } from '@sextant/db';
import { emptyServiceNode, mulberry32 } from '@sextant/shared';

export function benchMap(nodeCount: number, edgeCount: number, seed = 1): ServiceMap {
  const rand = mulberry32(seed);
  const until = Date.UTC(2026, 10, 25, 12);
  const since = until - 3_600_000;
  const nodes = Array.from({ length: nodeCount }, (_, i) => {
    const namespace = `ns-${i % 12}`;
    const name = `svc-${i}`;
    return emptyServiceNode(`${namespace}/${name}`, namespace, name);
  });
  const seen = new Set<string>();
  const edges: ServiceMap['edges'] = [];
  for (let tries = 0; edges.length < edgeCount && tries < edgeCount * 10; tries++) {
    const a = Math.floor(rand() * nodeCount);
    // Mostly calls within the namespace, some across: realistic clusters.
    const b = rand() < 0.7 ? (a + 12 * (1 + Math.floor(rand() * 6))) % nodeCount : Math.floor(rand() * nodeCount);
    if (a === b) continue;
    const src = nodes[a];
    const dst = nodes[b];
    if (!src || !dst) continue;
    const id = `${src.id}->${dst.id}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const requests = Math.floor(10 + rand() ** 3 * 100_000);
    const errors = rand() < 0.08 ? Math.floor(requests * rand() * 0.2) : 0;
    src.requestsOut += requests;
    src.errorsOut += errors;
    dst.requestsIn += requests;
    dst.errorsIn += errors;
    const p50 = 1e6 + rand() * 2e7;
    const http = {
      protocol: 'http',
      kind: 'requests' as const,
      count: requests,
      errors,
      errorRatio: errors / requests,
      perSecond: requests / 3600,
      bytesSent: requests * 500,
      bytesReceived: requests * 4000,
      retransmits: 0,
      p50Ns: p50,
      p95Ns: p50 * 3,
      p99Ns: p50 * 6,
    };
    edges.push({
      id,
      source: src.id,
      destination: dst.id,
      protocols: [http],
      protocol: 'http',
      kind: 'requests',
      requests,
      errors,
      errorRatio: errors / requests,
      requestsPerSecond: requests / 3600,
      connections: 0,
      connectionErrors: 0,
      connectionsPerSecond: 0,
      drops: 0,
      bytesSent: requests * 500,
      bytesReceived: requests * 4000,
      retransmits: 0,
      p50Ns: p50,
      p95Ns: p50 * 3,
      p99Ns: p50 * 6,
      failureRatio: errors / requests,
    });
  }
  for (const n of nodes) n.failureRatio = n.requestsIn ? n.errorsIn / n.requestsIn : n.requestsOut ? n.errorsOut / n.requestsOut : 0;
  return { since, until, resolutionSeconds: 60, nodes, edges };
}

export function benchFlows(count: number, seed = 2): FlowRecord[] {
  const rand = mulberry32(seed);
  const t0 = Date.UTC(2026, 10, 25, 12);
  const out: FlowRecord[] = new Array(count);
  const hex = (n: number) => Math.floor(n).toString(16).padStart(12, '0');
  for (let i = 0; i < count; i++) {
    const s = Math.floor(rand() * 200);
    const d = Math.floor(rand() * 200);
    const source = { ip: `10.0.${s >> 8}.${s & 255}`, service: `svc-${s}`, namespace: `ns-${s % 12}` };
    const destination = { ip: `10.1.${d >> 8}.${d & 255}`, port: 8080, service: `svc-${d}`, namespace: `ns-${d % 12}` };
    const id = `00000000-0000-4000-8000-${hex(i)}`;
    const time = t0 - i * 37;
    if (i % 3 === 0) {
      out[i] = {
        kind: 'flow',
        flow: {
          id,
          time,
          final: true,
          nodeName: 'bench',
          verdict: rand() < 0.01 ? 'DROPPED' : 'FORWARDED',
          l4Protocol: 'TCP',
          ipVersion: 4,
          source,
          destination,
          tcpFlags: [],
          trafficDirection: 'EGRESS',
          isReply: false,
          bytesSent: 500,
          bytesReceived: 4000,
          packetsSent: 4,
          packetsReceived: 5,
          retransmits: 0,
          closeReason: rand() < 0.02 ? 'RESET' : 'CLOSED',
          localPeer: false,
          connectLatencyNs: Math.floor(rand() * 2e6),
        },
      } as FlowRecord;
    } else {
      const code = rand() < 0.05 ? 503 : 200;
      out[i] = {
        kind: 'l7',
        event: {
          id,
          flowId: id,
          time,
          nodeName: 'bench',
          type: 'RESPONSE',
          protocol: 'http',
          latencyNs: Math.floor(rand() * 5e7),
          source,
          destination,
          http: {
            method: rand() < 0.8 ? 'GET' : 'POST',
            url: '',
            path: `/api/v1/items/${i % 977}`,
            protocol: 'HTTP/1.1',
            code,
            headers: [],
          },
        },
      } as FlowRecord;
    }
  }
  return out;
}
