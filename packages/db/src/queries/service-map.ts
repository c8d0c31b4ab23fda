/**
 * The service map for a window: one edge per (source service, destination service, protocol) with request
 * and error counts, bytes and p50/p95/p99 latency from merged histograms; nodes are the services at either
 * end with their in/out totals. Reads rollups only.
 */
import { quantile } from '@sextant/shared';
import type pg from 'pg';
import { Params } from './filter-sql';
import { denseToHistogram, HIST_AGG_SQL, parseHistAggDense } from './hist-agg';
import { rollupSource } from './rollup-source';

export interface ServiceMapInput {
  since: number;
  until: number;
  namespaces?: string[];
  errorsOnly?: boolean;
  protocols?: string[];
}

export interface ServiceMapEdge {
  id: string;
  source: string;
  destination: string;
  protocol: string;
  requests: number;
  errors: number;
  errorRatio: number;
  requestsPerSecond: number;
  bytesSent: number;
  bytesReceived: number;
  retransmits: number;
  p50Ns: number | null;
  p95Ns: number | null;
  p99Ns: number | null;
}

export interface ServiceMapNode {
  id: string;
  name: string;
  namespace: string;
  requestsIn: number;
  requestsOut: number;
  errorsIn: number;
  errorsOut: number;
}

export interface ServiceMap {
  since: number;
  until: number;
  /** Rollup resolution the map was computed from (60 or 3600). */
  resolutionSeconds: number;
  nodes: ServiceMapNode[];
  edges: ServiceMapEdge[];
}

export const nodeId = (namespace: string, service: string) => (namespace ? `${namespace}/${service}` : service);

export async function serviceMap(pool: pg.Pool, input: ServiceMapInput): Promise<ServiceMap> {
  const p = new Params();
  const src = rollupSource(input.since, input.until, p);
  const where = ['TRUE'];
  if (input.namespaces?.length) {
    const ns = p.add(input.namespaces);
    where.push(`(src_namespace = ANY(${ns}::text[]) OR dst_namespace = ANY(${ns}::text[]))`);
  }
  if (input.protocols?.length) where.push(`protocol = ANY(${p.add(input.protocols)}::text[])`);
  const sql = `
    SELECT src_namespace, src_service, dst_namespace, dst_service, protocol, sum(requests) AS requests,
           sum(errors) AS errors, sum(bytes_sent) AS bytes_sent, sum(bytes_received) AS bytes_received,
           sum(retransmits) AS retransmits, ${HIST_AGG_SQL} AS hist
      FROM ${src.sql} e WHERE ${where.join(' AND ')}
     GROUP BY src_namespace, src_service, dst_namespace, dst_service, protocol`;
  const rows = (await pool.query(sql, p.values)).rows as Record<string, unknown>[];
  const seconds = Math.max(1, (input.until - input.since) / 1000);
  const nodes = new Map<string, ServiceMapNode>();
  const node = (ns: string, name: string) => {
    const id = nodeId(ns, name);
    let n = nodes.get(id);
    if (!n) nodes.set(id, (n = { id, name, namespace: ns, requestsIn: 0, requestsOut: 0, errorsIn: 0, errorsOut: 0 }));
    return n;
  };
  const edges: ServiceMapEdge[] = [];
  for (const r of rows) {
    const requests = Number(r.requests);
    const errors = Number(r.errors);
    if (input.errorsOnly && errors === 0) continue;
    const s = node(String(r.src_namespace), String(r.src_service));
    const d = node(String(r.dst_namespace), String(r.dst_service));
    s.requestsOut += requests;
    s.errorsOut += errors;
    d.requestsIn += requests;
    d.errorsIn += errors;
    const h = denseToHistogram(parseHistAggDense(r.hist as string | null));
    edges.push({
      id: `${s.id}->${d.id}:${String(r.protocol)}`,
      source: s.id,
      destination: d.id,
      protocol: String(r.protocol),
      requests,
      errors,
      errorRatio: requests ? errors / requests : 0,
      requestsPerSecond: requests / seconds,
      bytesSent: Number(r.bytes_sent),
      bytesReceived: Number(r.bytes_received),
      retransmits: Number(r.retransmits),
      p50Ns: quantile(h, 0.5),
      p95Ns: quantile(h, 0.95),
      p99Ns: quantile(h, 0.99),
    });
  }
  edges.sort((a, b) => b.requests - a.requests || a.id.localeCompare(b.id));
  return { since: src.since, until: src.until, resolutionSeconds: src.bucketMs / 1000, nodes: [...nodes.values()], edges };
}

