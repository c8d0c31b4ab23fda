/**
 * The service map for a window: one edge per (source service, destination service) pair, listing every
 * protocol seen on it (L7 first, then tcp/udp connections, then drops) with its own counts, bytes and
 * p50/p95/p99 from merged histograms. Requests, request errors and latency come from L7 rows only;
 * connections (and failed ones: refused, reset, timed out) are their own signal and never added to requests;
 * drops count packets. Nodes are the services at either end with those totals in and out. Reads rollups only,
 * the coarsest complete ones for the window (window-source.ts).
 */
import type pg from 'pg';
import { emptyServiceNode, type ServiceMapNode } from '@sextant/shared';
import { edgeKind, KIND_RANK, kindSql, type EdgeKind } from './edge-kinds';
import { Params } from './filter-sql';
import { denseQuantiles, HIST_AGG_SQL, parseHistAggDense } from './hist-agg';
import { windowSource } from './window-source';

export interface ServiceMapInput {
  since: number;
  until: number;
  namespaces?: string[];
  errorsOnly?: boolean;
  protocols?: string[];
  /** Also Sextant's own services (kind 'self' in services: label sextant:self) and every edge touching one. */
  includeSelf?: boolean;
}

/** One protocol on a pair. */
export interface ServiceMapProtocol {
  protocol: string;
  kind: EdgeKind;
  /** By kind: requests (L7 exchanges), connections (tcp/udp) or dropped packets. */
  count: number;
  /** Error responses, failed connections (refused, reset, timed out), or drops (every one). */
  errors: number;
  errorRatio: number;
  perSecond: number;
  bytesSent: number;
  bytesReceived: number;
  retransmits: number;
  /** L7: request latency; connections: connect latency; drops: null. */
  p50Ns: number | null;
  p95Ns: number | null;
  p99Ns: number | null;
}

/** A (source, destination) pair: one line on the map. */
export interface ServiceMapEdge {
  id: string;
  source: string;
  destination: string;
  /** Every protocol on the pair: L7 first (most requests first), then tcp/udp, then drop. */
  protocols: ServiceMapProtocol[];
  /** The protocol names joined in that order, e.g. "http+tcp". */
  protocol: string;
  /** What the line stands for: requests if the pair has L7, else connections, else drops (drawn dashed). */
  kind: EdgeKind;
  /** L7 requests and error responses (0 without L7); errorRatio = errors / requests. */
  requests: number;
  errors: number;
  errorRatio: number;
  requestsPerSecond: number;
  connections: number;
  /** Refused, reset or timed-out connections. */
  connectionErrors: number;
  connectionsPerSecond: number;
  /** Dropped packets. */
  drops: number;
  retransmits: number;
  /** Connection bytes where the pair has connections (they carry its L7 payloads), else L7 payload bytes. */
  bytesSent: number;
  bytesReceived: number;
  /** Request latency over the pair's L7 protocols; null without L7. */
  p50Ns: number | null;
  p95Ns: number | null;
  p99Ns: number | null;
  /** The failing share of what the line stands for (request errors, failed connections; drops: 1): its health. */
  failureRatio: number;
}

export type { ServiceMapNode };

export interface ServiceMap {
  since: number;
  until: number;
  /** Rollup resolution the map was computed from (60 or 3600). */
  resolutionSeconds: number;
  nodes: ServiceMapNode[];
  edges: ServiceMapEdge[];
}

export const nodeId = (namespace: string, service: string) => (namespace ? `${namespace}/${service}` : service);

const ratio = (a: number, b: number) => (b ? a / b : 0);

export async function serviceMap(pool: pg.Pool, input: ServiceMapInput): Promise<ServiceMap> {
  const p = new Params();
  const src = await windowSource(pool, input.since, input.until, p);
  const k = kindSql(p);
  const where = ['TRUE'];
  if (input.namespaces?.length) {
    const ns = p.add(input.namespaces);
    where.push(`(src_namespace = ANY(${ns}::text[]) OR dst_namespace = ANY(${ns}::text[]))`);
  }
  if (input.protocols?.length) where.push(`protocol = ANY(${p.add(input.protocols)}::text[])`);
  if (!input.includeSelf) {
    where.push(`NOT EXISTS (SELECT 1 FROM services s WHERE s.kind = 'self'
      AND ((s.namespace = e.src_namespace AND s.name = e.src_service) OR (s.namespace = e.dst_namespace AND s.name = e.dst_service)))`);
  }
  const sql = `
    SELECT src_namespace, src_service, dst_namespace, dst_service, protocol, sum(requests) AS count,
           coalesce(sum(requests) FILTER (WHERE ${k.isError}), 0) AS errors, sum(bytes_sent) AS bytes_sent,
           sum(bytes_received) AS bytes_received, sum(retransmits) AS retransmits, ${HIST_AGG_SQL} AS hist
      FROM ${src.sql} e WHERE ${where.join(' AND ')}
     GROUP BY src_namespace, src_service, dst_namespace, dst_service, protocol`;
  const rows = (await pool.query(sql, p.values)).rows as Record<string, unknown>[];
  const seconds = Math.max(1, (input.until - input.since) / 1000);
  const pairs = new Map<
    string,
    { source: [string, string]; destination: [string, string]; protocols: ServiceMapProtocol[]; l7Hist: Float64Array | null }
  >();
  for (const r of rows) {
    const s: [string, string] = [String(r.src_namespace), String(r.src_service)];
    const d: [string, string] = [String(r.dst_namespace), String(r.dst_service)];
    const id = `${nodeId(...s)}->${nodeId(...d)}`;
    let pair = pairs.get(id);
    if (!pair) pairs.set(id, (pair = { source: s, destination: d, protocols: [], l7Hist: null }));
    const protocol = String(r.protocol);
    const kind = edgeKind(protocol);
    const count = Number(r.count);
    const errors = Number(r.errors);
    const dense = parseHistAggDense(r.hist as string | null);
    if (kind === 'requests') {
      if (!pair.l7Hist) pair.l7Hist = dense.slice();
      else for (let i = 0; i < dense.length; i++) pair.l7Hist[i] = (pair.l7Hist[i] ?? 0) + (dense[i] ?? 0);
    }
    const [p50, p95, p99] = kind === 'drops' ? [null, null, null] : denseQuantiles(dense);
    pair.protocols.push({
      protocol,
      kind,
      count,
      errors,
      errorRatio: ratio(errors, count),
      perSecond: count / seconds,
      bytesSent: Number(r.bytes_sent),
      bytesReceived: Number(r.bytes_received),
      retransmits: Number(r.retransmits),
      p50Ns: p50,
      p95Ns: p95,
      p99Ns: p99,
    });
  }
  const edges: ServiceMapEdge[] = [];
  const names = new Map<string, [string, string]>();
  for (const [id, pair] of pairs) {
    names.set(nodeId(...pair.source), pair.source);
    names.set(nodeId(...pair.destination), pair.destination);
    const e = toEdge(id, pair.source, pair.destination, pair.protocols, pair.l7Hist, seconds);
    if (input.errorsOnly && e.errors + e.connectionErrors + e.drops === 0) continue;
    edges.push(e);
  }
  edges.sort((a, b) => b.requests - a.requests || b.connections - a.connections || b.drops - a.drops || a.id.localeCompare(b.id));
  return { since: src.since, until: src.until, resolutionSeconds: src.bucketMs / 1000, nodes: nodesOf(edges, names), edges };
}

function toEdge(
  id: string,
  s: [string, string],
  d: [string, string],
  protocols: ServiceMapProtocol[],
  l7Hist: Float64Array | null,
  seconds: number,
): ServiceMapEdge {
  protocols.sort((a, b) => KIND_RANK[a.kind] - KIND_RANK[b.kind] || b.count - a.count || a.protocol.localeCompare(b.protocol));
  const sum = (kind: EdgeKind, f: (x: ServiceMapProtocol) => number) => protocols.reduce((acc, x) => acc + (x.kind === kind ? f(x) : 0), 0);
  const requests = sum('requests', (x) => x.count);
  const errors = sum('requests', (x) => x.errors);
  const connections = sum('connections', (x) => x.count);
  const connectionErrors = sum('connections', (x) => x.errors);
  const drops = sum('drops', (x) => x.count);
  const bytesFrom: EdgeKind = connections > 0 ? 'connections' : 'requests';
  const kind: EdgeKind = requests > 0 ? 'requests' : connections > 0 ? 'connections' : 'drops';
  const [p50, p95, p99] = l7Hist ? denseQuantiles(l7Hist) : [null, null, null];
  return {
    id,
    source: nodeId(...s),
    destination: nodeId(...d),
    protocols,
    protocol: protocols.map((x) => x.protocol).join('+'),
    kind,
    requests,
    errors,
    errorRatio: ratio(errors, requests),
    requestsPerSecond: requests / seconds,
    connections,
    connectionErrors,
    connectionsPerSecond: connections / seconds,
    drops,
    retransmits: sum('connections', (x) => x.retransmits),
    bytesSent: sum(bytesFrom, (x) => x.bytesSent),
    bytesReceived: sum(bytesFrom, (x) => x.bytesReceived),
    p50Ns: p50,
    p95Ns: p95,
    p99Ns: p99,
    failureRatio: kind === 'requests' ? ratio(errors, requests) : kind === 'connections' ? ratio(connectionErrors, connections) : 1,
  };
}

function nodesOf(edges: ServiceMapEdge[], names: Map<string, [string, string]>): ServiceMapNode[] {
  const nodes = new Map<string, ServiceMapNode>();
  const node = (id: string) => {
    let n = nodes.get(id);
    if (!n) {
      const [namespace, name] = names.get(id) ?? ['', id];
      n = emptyServiceNode(id, namespace, name);
      nodes.set(id, n);
    }
    return n;
  };
  for (const e of edges) {
    const s = node(e.source);
    const d = node(e.destination);
    s.requestsOut += e.requests;
    s.errorsOut += e.errors;
    s.connectionsOut += e.connections;
    s.connectionErrorsOut += e.connectionErrors;
    s.dropsOut += e.drops;
    d.requestsIn += e.requests;
    d.errorsIn += e.errors;
    d.connectionsIn += e.connections;
    d.connectionErrorsIn += e.connectionErrors;
    d.dropsIn += e.drops;
  }
  for (const n of nodes.values()) {
    n.failureRatio = n.requestsIn
      ? n.errorsIn / n.requestsIn
      : n.requestsOut
        ? n.errorsOut / n.requestsOut
        : n.connectionsIn
          ? n.connectionErrorsIn / n.connectionsIn
          : n.connectionsOut
            ? n.connectionErrorsOut / n.connectionsOut
            : n.dropsIn + n.dropsOut > 0
              ? 1
              : 0;
  }
  return [...nodes.values()];
}
