/**
 * Service map layout: d3-force run to rest synchronously, seeded with the previous positions so a refresh
 * moves nothing that was already placed (new nodes start next to a neighbour). Optional groups (namespace
 * or host) pull their members towards a centre on a ring, so each group forms its own cluster. Also the
 * view maths used by the canvas renderer: fitting a view, hit-testing nodes and edges. Pure: tested
 * without a DOM.
 */
import { forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY, type SimulationNodeDatum } from 'd3-force';

export interface LayoutNode extends SimulationNodeDatum {
  id: string;
}

export type Positions = Map<string, { x: number; y: number }>;

/** Centres for groups on a ring sized to their member counts (bigger groups get more room). */
export function groupCentres(sizes: Map<string, number>): Map<string, { x: number; y: number }> {
  const out = new Map<string, { x: number; y: number }>();
  const keys = [...sizes.keys()].sort();
  if (keys.length <= 1) {
    for (const k of keys) out.set(k, { x: 0, y: 0 });
    return out;
  }
  const radii = keys.map((k) => 30 * Math.sqrt(sizes.get(k) ?? 1) + 40);
  const circumference = radii.reduce((a, r) => a + 2 * r, 0);
  const ring = Math.max(circumference / (2 * Math.PI), 120);
  let angle = 0;
  keys.forEach((k, i) => {
    const share = (2 * (radii[i] ?? 0)) / circumference;
    const a = angle + Math.PI * share;
    out.set(k, { x: ring * Math.cos(a), y: ring * Math.sin(a) });
    angle += 2 * Math.PI * share;
  });
  return out;
}

export interface LayoutOptions {
  previous?: Positions;
  /** Iterations; defaults to fewer for big graphs so the first render stays fast. */
  ticks?: number;
  /** Group key per node id (e.g. namespace); nodes of a group cluster together. */
  groupOf?: (id: string) => string;
}

export function layout(
  ids: string[],
  links: { source: string; target: string }[],
  previous: Positions = new Map(),
  ticks?: number,
  groupOf?: (id: string) => string,
): Positions {
  return layoutWith(ids, links, { previous, ticks, groupOf });
}

export function layoutWith(ids: string[], links: { source: string; target: string }[], opts: LayoutOptions = {}): Positions {
  const previous = opts.previous ?? new Map();
  const byId = new Set(ids);
  const valid = links.filter((l) => byId.has(l.source) && byId.has(l.target) && l.source !== l.target);
  const neighbour = new Map<string, string>();
  for (const l of valid) {
    if (!neighbour.has(l.source)) neighbour.set(l.source, l.target);
    if (!neighbour.has(l.target)) neighbour.set(l.target, l.source);
  }
  const sizes = new Map<string, number>();
  if (opts.groupOf) for (const id of ids) sizes.set(opts.groupOf(id), (sizes.get(opts.groupOf(id)) ?? 0) + 1);
  const centres = groupCentres(sizes);
  const centreOf = (id: string) => (opts.groupOf ? (centres.get(opts.groupOf(id)) ?? { x: 0, y: 0 }) : { x: 0, y: 0 });
  const nodes: LayoutNode[] = ids.map((id, i) => {
    const p = previous.get(id);
    if (p) return { id, x: p.x, y: p.y };
    const n = neighbour.get(id);
    const anchor = n ? previous.get(n) : undefined;
    const angle = i * 2.399963; // golden angle: spread new nodes without overlap
    const c = centreOf(id);
    return anchor
      ? { id, x: anchor.x + 30 * Math.cos(angle), y: anchor.y + 30 * Math.sin(angle) }
      : { id, x: c.x + 25 * Math.sqrt(i) * Math.cos(angle), y: c.y + 25 * Math.sqrt(i) * Math.sin(angle) };
  });
  const big = ids.length > 300;
  const sim = forceSimulation(nodes)
    .force(
      'charge',
      forceManyBody()
        .strength(big ? -60 : -120)
        .theta(big ? 1.2 : 0.9)
        .distanceMax(big ? 400 : Infinity),
    )
    .force(
      'link',
      forceLink(valid)
        .id((d) => (d as LayoutNode).id)
        .distance(big ? 40 : 70),
    )
    .force('collide', forceCollide(big ? 12 : 18))
    .force('x', forceX<LayoutNode>((d) => centreOf(d.id).x).strength(opts.groupOf ? 0.12 : 0.03))
    .force('y', forceY<LayoutNode>((d) => centreOf(d.id).y).strength(opts.groupOf ? 0.12 : 0.03))
    .stop();
  // Known nodes settle less: start cool when most positions are known.
  const known = nodes.filter((n) => previous.has(n.id)).length;
  sim.alpha(known > nodes.length / 2 ? 0.1 : 1);
  const ticks = opts.ticks ?? (ids.length > 600 ? 60 : ids.length > 200 ? 120 : 200);
  for (let i = 0; i < ticks; i++) sim.tick();
  const out: Positions = new Map();
  for (const n of nodes) out.set(n.id, { x: n.x ?? 0, y: n.y ?? 0 });
  return out;
}

export interface View {
  /** Screen = world * k + (x, y). */
  k: number;
  x: number;
  y: number;
}

/** The view that fits every position into width × height with a margin. */
export function fitView(positions: Positions, width: number, height: number, margin = 40): View {
  if (!positions.size) return { k: 1, x: width / 2, y: height / 2 };
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of positions.values()) {
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    maxX = Math.max(maxX, p.x);
    maxY = Math.max(maxY, p.y);
  }
  const w = Math.max(maxX - minX, 1);
  const h = Math.max(maxY - minY, 1);
  const k = Math.min((width - 2 * margin) / w, (height - 2 * margin) / h, 2.5);
  return { k, x: width / 2 - ((minX + maxX) / 2) * k, y: height / 2 - ((minY + maxY) / 2) * k };
}

export const toWorld = (v: View, sx: number, sy: number) => ({ x: (sx - v.x) / v.k, y: (sy - v.y) / v.k });

/** Distance from point p to segment a–b. */
export function segmentDistance(p: { x: number; y: number }, a: { x: number; y: number }, b: { x: number; y: number }): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const t = len2 ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2)) : 0;
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

/** The node under a world point (within radius), else null. */
export function hitNode(positions: Positions, p: { x: number; y: number }, radius: number): string | null {
  let best: string | null = null;
  let bestD = radius;
  for (const [id, q] of positions) {
    const d = Math.hypot(q.x - p.x, q.y - p.y);
    if (d <= bestD) {
      best = id;
      bestD = d;
    }
  }
  return best;
}

/** A self-loop (a service calling itself) is a circle above its node, in world units. */
export function selfLoopCircle(node: { x: number; y: number }): { x: number; y: number; r: number } {
  return { x: node.x, y: node.y - 16, r: 9 };
}

/** How far apart (world units) the two directions of a pair drawn both ways are. */
export const REVERSE_SHIFT = 4;

/**
 * The drawn ends of an edge between a and b: a pair drawn both ways (`shifted`) moves each direction to its
 * own right by REVERSE_SHIFT / 2, so A → B and B → A are two lines, each of which can be clicked.
 */
export function edgeEnds(
  a: { x: number; y: number },
  b: { x: number; y: number },
  shifted?: boolean,
): [{ x: number; y: number }, { x: number; y: number }] {
  if (!shifted) return [a, b];
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy) || 1;
  const ox = (-dy / len) * (REVERSE_SHIFT / 2);
  const oy = (dx / len) * (REVERSE_SHIFT / 2);
  return [
    { x: a.x + ox, y: a.y + oy },
    { x: b.x + ox, y: b.y + oy },
  ];
}

/** The edge nearest a world point within tolerance (a self-loop: its circle), else null. */
export function hitEdge<E extends { source: string; destination: string; shifted?: boolean }>(
  edges: E[],
  positions: Positions,
  p: { x: number; y: number },
  tolerance: number,
): E | null {
  let best: E | null = null;
  let bestD = tolerance;
  for (const e of edges) {
    const a = positions.get(e.source);
    const b = positions.get(e.destination);
    if (!a || !b) continue;
    const loop = e.source === e.destination ? selfLoopCircle(a) : null;
    const d = loop ? Math.abs(Math.hypot(p.x - loop.x, p.y - loop.y) - loop.r) : segmentDistance(p, ...edgeEnds(a, b, e.shifted));
    if (d <= bestD) {
      best = e;
      bestD = d;
    }
  }
  return best;
}

/** Health colour of an error ratio: ok, some errors, failing. */
export function healthLevel(errorRatio: number): 'ok' | 'warn' | 'bad' {
  if (errorRatio >= 0.05) return 'bad';
  if (errorRatio > 0) return 'warn';
  return 'ok';
}
