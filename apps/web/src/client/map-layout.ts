/**
 * Service map layout: d3-force run to rest synchronously, seeded with the previous positions so a refresh
 * moves nothing that was already placed (new nodes start next to a neighbour). Pure: tested without a DOM.
 */
import { forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY, type SimulationNodeDatum } from 'd3-force';

export interface LayoutNode extends SimulationNodeDatum {
  id: string;
}

export type Positions = Map<string, { x: number; y: number }>;

export function layout(ids: string[], links: { source: string; target: string }[], previous: Positions = new Map(), ticks = 200): Positions {
  const nodes: LayoutNode[] = ids.map((id, i) => {
    const p = previous.get(id);
    if (p) return { id, x: p.x, y: p.y };
    const neighbour = links.find((l) => l.source === id || l.target === id);
    const anchor = neighbour ? previous.get(neighbour.source === id ? neighbour.target : neighbour.source) : undefined;
    const angle = i * 2.399963; // golden angle: spread new nodes without overlap
    return anchor ? { id, x: anchor.x + 30 * Math.cos(angle), y: anchor.y + 30 * Math.sin(angle) } : { id, x: 40 * Math.sqrt(i) * Math.cos(angle), y: 40 * Math.sqrt(i) * Math.sin(angle) };
  });
  const byId = new Set(ids);
  const sim = forceSimulation(nodes)
    .force('charge', forceManyBody().strength(-120))
    .force('link', forceLink(links.filter((l) => byId.has(l.source) && byId.has(l.target) && l.source !== l.target)).id((d) => (d as LayoutNode).id).distance(70))
    .force('collide', forceCollide(18))
    .force('x', forceX(0).strength(0.03))
    .force('y', forceY(0).strength(0.03))
    .stop();
  // Known nodes settle less: start cool when most positions are known.
  const known = nodes.filter((n) => previous.has(n.id)).length;
  sim.alpha(known > nodes.length / 2 ? 0.1 : 1);
  for (let i = 0; i < ticks; i++) sim.tick();
  const out: Positions = new Map();
  for (const n of nodes) out.set(n.id, { x: n.x ?? 0, y: n.y ?? 0 });
  return out;
}
