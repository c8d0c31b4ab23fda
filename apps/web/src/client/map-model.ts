/**
 * From the service map the API returns to what the map view shows: the subset the filters keep (errors only,
 * one namespace), how each node and edge is drawn (health, size, tooltip) and the search hits. Pure:
 * tested without React.
 */
import type { ServiceMap } from '@sextant/db';
import { HIST_PRECISION } from '@sextant/shared';
import { healthLevel } from './map-layout';
import type { CanvasEdge, CanvasNode } from './map-paint';
import { formatBytes, formatNs, formatRate } from './time-range';

export type MapNode = ServiceMap['nodes'][number];
export type MapEdge = ServiceMap['edges'][number];

/**
 * Edges that pass the filters (with an error, touching the namespace), and the nodes they connect; without
 * a filter every node stays, also one without edges.
 */
export function visibleGraph(data: ServiceMap, errorsOnly: boolean, namespace: string): { nodes: MapNode[]; edges: MapEdge[] } {
  let edges = data.edges;
  if (errorsOnly) edges = edges.filter((e) => e.errors > 0);
  if (namespace) {
    const nsOf = new Map(data.nodes.map((n) => [n.id, n.namespace]));
    edges = edges.filter((e) => nsOf.get(e.source) === namespace || nsOf.get(e.destination) === namespace);
  }
  const used = new Set(edges.flatMap((e) => [e.source, e.destination]));
  const nodes = data.nodes.filter((n) => used.has(n.id) || (!errorsOnly && !namespace));
  return { nodes, edges };
}

/** A node's health is its inbound error ratio (outbound for pure clients); its size grows with its traffic. */
export function toCanvasNode(n: MapNode): CanvasNode {
  const ratio = n.requestsIn ? n.errorsIn / n.requestsIn : n.requestsOut ? n.errorsOut / n.requestsOut : 0;
  return { id: n.id, label: n.id, group: n.namespace, level: healthLevel(ratio), r: 5 + Math.min(9, Math.log10(1 + n.requestsIn + n.requestsOut) * 1.6) };
}

export function toCanvasEdge(e: MapEdge): CanvasEdge {
  return {
    id: e.id,
    source: e.source,
    destination: e.destination,
    level: healthLevel(e.errorRatio),
    width: 1 + Math.min(5, Math.log10(1 + e.requests)),
    tip: `${e.source} → ${e.destination} (${e.protocol})\n${formatRate(e.requestsPerSecond)} · ${(e.errorRatio * 100).toFixed(1)} % errors · p95 ${formatNs(e.p95Ns)} (bucket upper bound, ≤ ${HIST_PRECISION * 100} % over)\n${formatBytes(e.bytesSent + e.bytesReceived)}`,
  };
}

/** Ids of the nodes whose id contains the search text (case-insensitive); none for an empty search. */
export function searchHits(nodes: MapNode[], find: string): Set<string> {
  const f = find.trim().toLowerCase();
  return new Set(f ? nodes.filter((n) => n.id.toLowerCase().includes(f)).map((n) => n.id) : []);
}
