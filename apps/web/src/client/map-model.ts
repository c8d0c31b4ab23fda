/**
 * From the service map the API returns to what the map view shows: the subset the filters keep (errors only,
 * one namespace), how each node and edge is drawn (health, size, dashes, tooltip), the rows of an edge's
 * panel and the search hits. One edge is one (source, destination) pair with every protocol on it: requests
 * (L7) and connections (tcp/udp) are never added together. Pure: tested without React.
 */
import type { ServiceMap, ServiceMapProtocol } from '@sextant/db';
import { HIST_PRECISION } from '@sextant/shared';
import { healthLevel } from './map-layout';
import type { CanvasEdge, CanvasNode } from './map-paint';
import { formatBytes, formatCount, formatNs, formatRate } from './time-range';
import { serviceFlags } from './url-state';

export type MapNode = ServiceMap['nodes'][number];
export type MapEdge = ServiceMap['edges'][number];

/** Whether an edge failed at all: error responses, failed connections or drops. */
export const edgeFails = (e: MapEdge) => e.errors + e.connectionErrors + e.drops > 0;

/**
 * Edges that pass the filters (with an error, touching the namespace), and the nodes they connect; without
 * a filter every node stays, also one without edges.
 */
export function visibleGraph(data: ServiceMap, errorsOnly: boolean, namespace: string): { nodes: MapNode[]; edges: MapEdge[] } {
  let edges = data.edges;
  if (errorsOnly) edges = edges.filter(edgeFails);
  if (namespace) {
    const nsOf = new Map(data.nodes.map((n) => [n.id, n.namespace]));
    edges = edges.filter((e) => nsOf.get(e.source) === namespace || nsOf.get(e.destination) === namespace);
  }
  const used = new Set(edges.flatMap((e) => [e.source, e.destination]));
  const nodes = data.nodes.filter((n) => used.has(n.id) || (!errorsOnly && !namespace));
  return { nodes, edges };
}

/**
 * A node's health is its inbound request error ratio (outbound for pure clients; connection failures for a
 * service without L7); its size grows with its requests, else its connections.
 */
export function toCanvasNode(n: MapNode): CanvasNode {
  const traffic = n.requestsIn + n.requestsOut || n.connectionsIn + n.connectionsOut;
  return {
    id: n.id,
    label: n.id,
    group: n.namespace,
    level: healthLevel(n.failureRatio),
    r: 5 + Math.min(9, Math.log10(1 + traffic) * 1.6),
  };
}

/** The count an edge's line stands for: its requests, else its connections, else its dropped packets. */
const lineCount = (e: MapEdge) => (e.kind === 'requests' ? e.requests : e.kind === 'connections' ? e.connections : e.drops);

export function toCanvasEdge(e: MapEdge): CanvasEdge {
  return {
    id: e.id,
    source: e.source,
    destination: e.destination,
    level: healthLevel(e.failureRatio),
    width: 1 + Math.min(5, Math.log10(1 + lineCount(e))),
    dashed: e.kind === 'drops',
    tip: [
      `${e.source} → ${e.destination} (${e.protocol})`,
      ...edgeRows(e).map((r) => r.tip),
      formatBytes(e.bytesSent + e.bytesReceived),
    ].join('\n'),
  };
}

/** One protocol of an edge as its panel shows it. */
export interface EdgeRow {
  protocol: string;
  /** What is counted: requests, connections or dropped packets. */
  unit: 'requests' | 'connections' | 'dropped packets';
  count: number;
  perSecond: number;
  /** What a failure is called for this unit. */
  errorsLabel: 'errors' | 'failed' | 'dropped';
  errors: number;
  errorRatio: number;
  /** request latency (L7) or connect latency (tcp); none for drops. */
  latency: 'request' | 'connect' | null;
  p50Ns: number | null;
  p95Ns: number | null;
  p99Ns: number | null;
  /** Filter for this protocol's records on the edge, and for its failing ones (if the filter language has one). */
  flows: string;
  failingFlows: string | null;
  tip: string;
}

/** Flow filter for one protocol of an edge: L7 exchanges, the L3/L4 records of tcp/udp, or the drops. */
export function protocolQuery(e: Pick<MapEdge, 'source' | 'destination'>, protocol: string): string {
  const pair = `${serviceFlags('from', e.source)} ${serviceFlags('to', e.destination)}`;
  if (protocol === 'drop') return `${pair} --verdict DROPPED`;
  if (protocol === 'tcp' || protocol === 'udp') return `${pair} --type trace --protocol ${protocol}`;
  return `${pair} --protocol ${protocol}`;
}

/** An edge's panel rows: every protocol on the pair, L7 first (most requests first), then tcp/udp, then drops. */
export function edgeRows(e: MapEdge): EdgeRow[] {
  return e.protocols.map((p: ServiceMapProtocol): EdgeRow => {
    const unit = p.kind === 'requests' ? 'requests' : p.kind === 'connections' ? 'connections' : 'dropped packets';
    const errorsLabel = p.kind === 'requests' ? 'errors' : p.kind === 'connections' ? 'failed' : 'dropped';
    const latency = p.kind === 'requests' ? 'request' : p.kind === 'connections' ? 'connect' : null;
    const flows = protocolQuery(e, p.protocol);
    const failingFlows = p.protocol === 'http' ? `${flows} --http-status 5+` : null;
    const pct = `${(p.errorRatio * 100).toFixed(1)} %`;
    const tip =
      p.kind === 'drops'
        ? `${p.protocol}: ${formatCount(p.count)} dropped packets`
        : `${p.protocol}: ${formatRate(p.perSecond)} ${unit} · ${pct} ${errorsLabel} · ${latency} p95 ${formatNs(p.p95Ns)} (bucket upper bound, ≤ ${HIST_PRECISION * 100} % over)`;
    return {
      protocol: p.protocol,
      unit,
      count: p.count,
      perSecond: p.perSecond,
      errorsLabel,
      errors: p.errors,
      errorRatio: p.errorRatio,
      latency,
      p50Ns: p.p50Ns,
      p95Ns: p.p95Ns,
      p99Ns: p.p99Ns,
      flows,
      failingFlows,
      tip,
    };
  });
}

/** Canvas shapes of the visible edges; a pair drawn both ways is marked so its two lines are drawn apart. */
export function toCanvasEdges(edges: MapEdge[]): CanvasEdge[] {
  const keys = new Set(edges.map((e) => `${e.source}\u0000${e.destination}`));
  return edges.map((e) => {
    const c = toCanvasEdge(e);
    if (e.source !== e.destination && keys.has(`${e.destination}\u0000${e.source}`)) c.shifted = true;
    return c;
  });
}

/** Ids of the nodes whose id contains the search text (case-insensitive); none for an empty search. */
export function searchHits(nodes: MapNode[], find: string): Set<string> {
  const f = find.trim().toLowerCase();
  return new Set(f ? nodes.filter((n) => n.id.toLowerCase().includes(f)).map((n) => n.id) : []);
}
