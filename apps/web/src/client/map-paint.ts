/**
 * Painting one frame of the service map, without React or the DOM: the canvas component hands it a 2D
 * context, the scene and the view. Edges are batched into one path per (health, emphasis, width), nodes
 * likewise, arrows and labels only where they are legible; everything outside the visible rectangle is
 * culled, so 1000 nodes and 3000 edges pan smoothly. A `fast` frame (while panning or zooming a big map)
 * skips the costly parts: wide strokes, arrows, outlines, labels. Pure: tested with a recording context.
 */
import { edgeEnds, selfLoopCircle, type Positions, type View } from './map-layout';

export type Level = 'ok' | 'warn' | 'bad';
const LEVELS: readonly Level[] = ['ok', 'warn', 'bad'];

export interface CanvasNode {
  id: string;
  label: string;
  group: string;
  level: Level;
  /** Radius in world units. */
  r: number;
}

export interface CanvasEdge {
  id: string;
  source: string;
  destination: string;
  level: Level;
  /** Line width in screen pixels. */
  width: number;
  /** Drawn dashed (an edge of drops only). */
  dashed?: boolean;
  /** The reverse pair is drawn too: both directions are shifted apart (see edgeEnds). */
  shifted?: boolean;
  tip: string;
}

export interface MapScene {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
  positions: Positions;
  byId: Map<string, CanvasNode>;
  /** Draw group names (namespace / host) at their cluster's centre. */
  groups: boolean;
  /** Node ids to emphasise (search hits); others are dimmed while it is non-empty. */
  highlight: Set<string>;
  selectedNode: string | null;
  selectedEdge: string | null;
  /** The node under the mouse: its label is always drawn. */
  hover: string | null;
}

export interface MapFrame {
  width: number;
  height: number;
  dpr: number;
  view: View;
  fast: boolean;
}

/** Colours from the theme's CSS variables. */
export type Palette = Record<Level | 'text' | 'muted' | 'accent' | 'panel', string>;

/** The part of CanvasRenderingContext2D the painter uses. */
export type PaintContext = Pick<
  CanvasRenderingContext2D,
  | 'setTransform'
  | 'fillRect'
  | 'beginPath'
  | 'moveTo'
  | 'lineTo'
  | 'arc'
  | 'closePath'
  | 'stroke'
  | 'fill'
  | 'fillText'
  | 'fillStyle'
  | 'strokeStyle'
  | 'globalAlpha'
  | 'lineWidth'
  | 'lineCap'
  | 'font'
  | 'textBaseline'
  | 'textAlign'
  | 'setLineDash'
>;

type Point = { x: number; y: number };

/** The visible world rectangle plus a margin (so shapes straddling the border are still drawn). */
export function visibleBounds(v: View, width: number, height: number, margin = 40) {
  const x0 = -v.x / v.k - margin;
  const y0 = -v.y / v.k - margin;
  const x1 = (width - v.x) / v.k + margin;
  const y1 = (height - v.y) / v.k + margin;
  return (p: Point) => p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1;
}

/**
 * What stays in focus: search hits, the selected node and its direct peers. While anything is highlighted
 * or selected (`dimming`), the rest is drawn faint.
 */
export function focusOf(s: Pick<MapScene, 'edges' | 'highlight' | 'selectedNode'>) {
  const peers = new Set<string>();
  if (s.selectedNode)
    for (const e of s.edges) {
      if (e.source === s.selectedNode) peers.add(e.destination);
      if (e.destination === s.selectedNode) peers.add(e.source);
    }
  const focus = (id: string) => s.highlight.has(id) || id === s.selectedNode || peers.has(id);
  return { dimming: s.highlight.size > 0 || s.selectedNode !== null, focus };
}
type Focus = ReturnType<typeof focusOf>;

export interface EdgeBucket {
  level: Level;
  strong: boolean;
  /** Screen pixels, rounded (1 in fast frames). */
  width: number;
  dashed: boolean;
  /** x1, y1, x2, y2 per segment. */
  segs: number[];
}

/** Visible edges grouped so each group is one path: by health, emphasis and rounded width. */
export function edgeBuckets(s: MapScene, inView: (p: Point) => boolean, f: Focus, fast: boolean): EdgeBucket[] {
  const buckets = new Map<string, EdgeBucket>();
  for (const e of s.edges) {
    const a = s.positions.get(e.source);
    const b = s.positions.get(e.destination);
    if (!a || !b) continue;
    if (!inView(a) && !inView(b)) continue;
    const touchesSelected = s.selectedNode
      ? e.source === s.selectedNode || e.destination === s.selectedNode
      : f.focus(e.source) || f.focus(e.destination);
    const strong = !f.dimming || touchesSelected || e.id === s.selectedEdge;
    const width = fast ? 1 : Math.round(e.width);
    const dashed = !fast && e.dashed === true;
    const key = `${e.level}|${strong}|${width}|${dashed}`;
    let bk = buckets.get(key);
    if (!bk) buckets.set(key, (bk = { level: e.level, strong, width, dashed, segs: [] }));
    if (e.source === e.destination) pushLoop(bk.segs, a);
    else {
      const [p, q] = edgeEnds(a, b, e.shifted);
      bk.segs.push(p.x, p.y, q.x, q.y);
    }
  }
  return [...buckets.values()];
}

const LOOP_SEGMENTS = 16;

/** A self-loop as short segments around its circle (so it batches with the straight edges). */
function pushLoop(segs: number[], node: Point) {
  const c = selfLoopCircle(node);
  for (let i = 0; i < LOOP_SEGMENTS; i++) {
    const a0 = (i / LOOP_SEGMENTS) * 2 * Math.PI;
    const a1 = ((i + 1) / LOOP_SEGMENTS) * 2 * Math.PI;
    segs.push(c.x + c.r * Math.cos(a0), c.y + c.r * Math.sin(a0), c.x + c.r * Math.cos(a1), c.y + c.r * Math.sin(a1));
  }
}

/** Each group's label position in world units: centred over its members, above the topmost one. */
export function groupLabels(nodes: CanvasNode[], positions: Positions): { name: string; x: number; top: number }[] {
  const acc = new Map<string, { x: number; y: number; n: number; minY: number }>();
  for (const n of nodes) {
    const p = positions.get(n.id);
    if (!p) continue;
    const g = acc.get(n.group) ?? { x: 0, y: 0, n: 0, minY: Infinity };
    g.x += p.x;
    g.y += p.y;
    g.n++;
    g.minY = Math.min(g.minY, p.y);
    acc.set(n.group, g);
  }
  return [...acc].map(([name, g]) => ({ name, x: g.x / g.n, top: g.minY }));
}

function paintEdges(ctx: PaintContext, buckets: EdgeBucket[], col: Palette, v: View) {
  ctx.lineCap = 'round';
  for (const bk of buckets) {
    ctx.beginPath();
    for (let i = 0; i < bk.segs.length; i += 4) {
      ctx.moveTo(bk.segs[i] as number, bk.segs[i + 1] as number);
      ctx.lineTo(bk.segs[i + 2] as number, bk.segs[i + 3] as number);
    }
    ctx.strokeStyle = col[bk.level];
    ctx.globalAlpha = bk.strong ? 0.55 : 0.08;
    ctx.lineWidth = bk.width / v.k;
    ctx.setLineDash(bk.dashed ? [6 / v.k, 4 / v.k] : []);
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

/** Direction: a small arrowhead near the destination of emphasised edges (only when zoomed in enough). */
function paintArrows(ctx: PaintContext, s: MapScene, inView: (p: Point) => boolean, f: Focus, col: Palette, v: View) {
  ctx.globalAlpha = 0.8;
  for (const e of s.edges) {
    const from = s.positions.get(e.source);
    const ends = s.positions.get(e.destination);
    if (!from || !ends || !inView(ends) || e.source === e.destination) continue;
    const [a, b] = edgeEnds(from, ends, e.shifted);
    if (f.dimming && !(f.focus(e.source) || f.focus(e.destination) || e.id === s.selectedEdge)) continue;
    const r = (s.byId.get(e.destination)?.r ?? 8) + 3;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len = Math.hypot(dx, dy) || 1;
    const ux = dx / len;
    const uy = dy / len;
    const tx = b.x - ux * r;
    const ty = b.y - uy * r;
    const sz = 6 / Math.max(v.k, 0.8);
    ctx.beginPath();
    ctx.moveTo(tx, ty);
    ctx.lineTo(tx - ux * sz - uy * sz * 0.5, ty - uy * sz + ux * sz * 0.5);
    ctx.lineTo(tx - ux * sz + uy * sz * 0.5, ty - uy * sz - ux * sz * 0.5);
    ctx.closePath();
    ctx.fillStyle = col[e.level];
    ctx.fill();
  }
}

function paintSelectedEdge(ctx: PaintContext, s: MapScene, col: Palette, v: View) {
  const sel = s.edges.find((e) => e.id === s.selectedEdge);
  const a = sel && s.positions.get(sel.source);
  const b = sel && s.positions.get(sel.destination);
  if (!sel || !a || !b) return;
  ctx.globalAlpha = 1;
  ctx.strokeStyle = col.accent;
  ctx.lineWidth = (sel.width + 3) / v.k;
  ctx.beginPath();
  if (sel.source === sel.destination) {
    const c = selfLoopCircle(a);
    ctx.moveTo(c.x + c.r, c.y);
    ctx.arc(c.x, c.y, c.r, 0, 2 * Math.PI);
  } else {
    const [p, q] = edgeEnds(a, b, sel.shifted);
    ctx.moveTo(p.x, p.y);
    ctx.lineTo(q.x, q.y);
  }
  ctx.stroke();
}

/** Nodes batched per level and emphasis (one path each), then accent rings on search hits and the selection. */
function paintNodes(ctx: PaintContext, s: MapScene, inView: (p: Point) => boolean, f: Focus, col: Palette, v: View, fast: boolean) {
  for (const level of LEVELS) {
    for (const strong of [false, true]) {
      ctx.beginPath();
      let any = false;
      for (const n of s.nodes) {
        if (n.level !== level) continue;
        if ((!f.dimming || f.focus(n.id)) !== strong) continue;
        const p = s.positions.get(n.id);
        if (!p || !inView(p)) continue;
        ctx.moveTo(p.x + n.r, p.y);
        ctx.arc(p.x, p.y, n.r, 0, 2 * Math.PI);
        any = true;
      }
      if (!any) continue;
      ctx.globalAlpha = strong ? 1 : 0.25;
      ctx.fillStyle = col[level];
      ctx.fill();
      if (fast) continue;
      ctx.lineWidth = 1.5 / v.k;
      ctx.strokeStyle = col.panel;
      ctx.stroke();
    }
  }
  for (const id of [...s.highlight, s.selectedNode]) {
    const p = id ? s.positions.get(id) : undefined;
    const n = id ? s.byId.get(id) : undefined;
    if (!p || !n) continue;
    ctx.globalAlpha = 1;
    ctx.beginPath();
    ctx.arc(p.x, p.y, n.r + 4 / v.k, 0, 2 * Math.PI);
    ctx.strokeStyle = col.accent;
    ctx.lineWidth = 2.5 / v.k;
    ctx.stroke();
  }
}

/**
 * Node labels in screen space: emphasised ones always; the rest only on small maps or zoomed in, never
 * dimmed ones, and at most 400 of them.
 */
function paintLabels(ctx: PaintContext, s: MapScene, inView: (p: Point) => boolean, f: Focus, col: Palette, v: View, fast: boolean) {
  ctx.globalAlpha = 1;
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  const showAll = !fast && (s.nodes.length <= 120 || v.k >= 1.3);
  let drawn = 0;
  for (const n of s.nodes) {
    const p = s.positions.get(n.id);
    if (!p || !inView(p)) continue;
    const emph = f.focus(n.id) || n.id === s.hover;
    if (!emph && (!showAll || (f.dimming && !f.focus(n.id)))) continue;
    if (!emph && ++drawn > 400) continue;
    ctx.fillStyle = emph ? col.text : col.muted;
    ctx.fillText(n.label, p.x * v.k + v.x + n.r * v.k + 4, p.y * v.k + v.y);
  }
  if (!s.groups) return;
  ctx.font = '600 13px system-ui, sans-serif';
  ctx.textAlign = 'center';
  for (const g of groupLabels(s.nodes, s.positions)) {
    ctx.fillStyle = col.accent;
    ctx.fillText(g.name || '(no namespace)', g.x * v.k + v.x, g.top * v.k + v.y - 18);
  }
  ctx.textAlign = 'start';
}

/** Paints one whole frame: background, edges, arrows, the selected edge, nodes, then labels on top. */
export function paintMap(ctx: PaintContext, s: MapScene, frame: MapFrame, col: Palette): void {
  const { width, height, dpr, view: v, fast } = frame;
  ctx.fillStyle = col.panel;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillRect(0, 0, width, height);
  ctx.setTransform(dpr * v.k, 0, 0, dpr * v.k, dpr * v.x, dpr * v.y);
  const inView = visibleBounds(v, width, height);
  const f = focusOf(s);
  paintEdges(ctx, edgeBuckets(s, inView, f, fast), col, v);
  if (!fast && v.k > 0.6 && s.edges.length < 4000) paintArrows(ctx, s, inView, f, col, v);
  paintSelectedEdge(ctx, s, col, v);
  paintNodes(ctx, s, inView, f, col, v, fast);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  paintLabels(ctx, s, inView, f, col, v, fast);
}
