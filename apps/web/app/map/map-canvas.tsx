'use client';
/**
 * Canvas renderer of the service map. d3 computes (layout upstream, zoom/pan transform here), the canvas
 * draws: edges batched into one path per health colour, nodes likewise, labels only where they fit (zoomed
 * in, small graphs, or highlighted). A frame is drawn only when something changed, so 1000 nodes and 3000
 * edges pan smoothly. Hit-testing for clicks and hovers is plain geometry (map-layout.ts).
 */
import { select, zoom, zoomIdentity, type ZoomBehavior } from 'd3';
import { useEffect, useMemo, useRef, useState } from 'react';
import { fitView, hitEdge, hitNode, toWorld, type Positions, type View } from '../../src/client/map-layout';

export interface CanvasNode {
  id: string;
  label: string;
  group: string;
  level: 'ok' | 'warn' | 'bad';
  /** Radius in world units. */
  r: number;
}

export interface CanvasEdge {
  id: string;
  source: string;
  destination: string;
  level: 'ok' | 'warn' | 'bad';
  /** Line width in screen pixels. */
  width: number;
  tip: string;
}

const LEVELS = ['ok', 'warn', 'bad'] as const;

/**
 * User Timing names: every map frame with data is a measure and the first one in a document also a mark, so
 * DevTools' performance panel shows map frames, and `npm run bench:ui` reads them from the page.
 */
export const MAP_FRAME_MEASURE = 'sextant:map-frame';
export const MAP_FIRST_FRAME_MARK = 'sextant:map-first-frame';
let framesMeasured = 0;
let firstFrameMarked = false;
function measureFrame(start: number, hasData: boolean) {
  if (!hasData) return;
  performance.measure(MAP_FRAME_MEASURE, { start });
  if (!firstFrameMarked) {
    firstFrameMarked = true;
    performance.mark(MAP_FIRST_FRAME_MARK);
  }
  // The browser keeps User Timing entries until they are cleared: bound them for long sessions.
  if (++framesMeasured % 1000 === 0) performance.clearMeasures(MAP_FRAME_MEASURE);
}

function cssColours(el: HTMLElement) {
  const s = getComputedStyle(el);
  const v = (n: string) => s.getPropertyValue(n).trim() || '#888';
  return { ok: v('--ok'), warn: v('--warn'), bad: v('--bad'), text: v('--text'), muted: v('--muted'), accent: v('--accent'), panel: v('--panel'), line: v('--line') };
}

export function MapCanvas({ nodes, edges, positions, groups, highlight, selectedNode, selectedEdge, onNodeClick, onEdgeClick, onBackgroundClick, fitKey }: {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
  positions: Positions;
  /** Draw group names (namespace / host) at their cluster's centre. */
  groups: boolean;
  /** Node ids to emphasise (search hits); others are dimmed while it is non-empty. */
  highlight: Set<string>;
  selectedNode: string | null;
  selectedEdge: string | null;
  onNodeClick: (id: string) => void;
  onEdgeClick: (id: string) => void;
  onBackgroundClick: () => void;
  /** Refit the view when this changes (new data set, not a refresh). */
  fitKey: string;
}) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const view = useRef<View>({ k: 1, x: 0, y: 0 });
  const zoomer = useRef<ZoomBehavior<HTMLCanvasElement, unknown> | null>(null);
  const frame = useRef(0);
  const [tip, setTip] = useState<{ x: number; y: number; text: string } | null>(null);
  const [themeTick, setThemeTick] = useState(0);
  const byId = useMemo(() => new Map(nodes.map((n) => [n.id, n])), [nodes]);
  const hoverRef = useRef<string | null>(null);
  // While panning/zooming, frames skip the costly parts (wide anti-aliased strokes, arrows, outlines,
  // labels); a full frame follows 150 ms after the last movement.
  const interacting = useRef(false);
  const idleTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  // Everything the draw needs, in a ref, so zoom events redraw without React.
  const scene = useRef({ nodes, edges, positions, groups, highlight, selectedNode, selectedEdge, byId });
  scene.current = { nodes, edges, positions, groups, highlight, selectedNode, selectedEdge, byId };

  const s0 = () => scene.current;
  const draw = () => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const t0 = performance.now();
      paint();
      measureFrame(t0, scene.current.nodes.length > 0);
    });
  };

  const paint = () => {
    {
      const c = canvas.current;
      const w = wrap.current;
      if (!c || !w) return;
      const dpr = window.devicePixelRatio || 1;
      const width = w.clientWidth;
      const height = w.clientHeight;
      if (c.width !== Math.round(width * dpr) || c.height !== Math.round(height * dpr)) {
        c.width = Math.round(width * dpr);
        c.height = Math.round(height * dpr);
      }
      const ctx = c.getContext('2d', { alpha: false });
      const fast = interacting.current && s0().edges.length > 500;
      if (!ctx) return;
      const col = cssColours(w);
      const s = scene.current;
      ctx.fillStyle = col.panel;
      const v = view.current;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.fillRect(0, 0, width, height);
      ctx.setTransform(dpr * v.k, 0, 0, dpr * v.k, dpr * v.x, dpr * v.y);
      // Visible world rectangle (culling).
      const x0 = -v.x / v.k - 40;
      const y0 = -v.y / v.k - 40;
      const x1 = (width - v.x) / v.k + 40;
      const y1 = (height - v.y) / v.k + 40;
      const inView = (p: { x: number; y: number }) => p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1;
      const dimming = s.highlight.size > 0 || s.selectedNode !== null;
      // The selected node's direct peers stay in focus with it.
      const peers = new Set<string>();
      if (s.selectedNode) for (const e of s.edges) {
        if (e.source === s.selectedNode) peers.add(e.destination);
        if (e.destination === s.selectedNode) peers.add(e.source);
      }
      const focus = (id: string) => s.highlight.has(id) || id === s.selectedNode || peers.has(id);
      // Edges: one path per (level, emphasis, width bucket).
      const buckets = new Map<string, { level: (typeof LEVELS)[number]; strong: boolean; width: number; segs: number[] }>();
      for (const e of s.edges) {
        const a = s.positions.get(e.source);
        const b = s.positions.get(e.destination);
        if (!a || !b) continue;
        if (!inView(a) && !inView(b)) continue;
        const strong = !dimming || (s.selectedNode ? e.source === s.selectedNode || e.destination === s.selectedNode : focus(e.source) || focus(e.destination)) || e.id === s.selectedEdge;
        const wb = fast ? 1 : Math.round(e.width);
        const key = `${e.level}|${strong}|${wb}`;
        let bk = buckets.get(key);
        if (!bk) buckets.set(key, (bk = { level: e.level, strong, width: wb, segs: [] }));
        bk.segs.push(a.x, a.y, b.x, b.y);
      }
      ctx.lineCap = 'round';
      for (const bk of buckets.values()) {
        ctx.beginPath();
        for (let i = 0; i < bk.segs.length; i += 4) {
          ctx.moveTo(bk.segs[i] as number, bk.segs[i + 1] as number);
          ctx.lineTo(bk.segs[i + 2] as number, bk.segs[i + 3] as number);
        }
        ctx.strokeStyle = col[bk.level];
        ctx.globalAlpha = bk.strong ? 0.55 : 0.08;
        ctx.lineWidth = bk.width / v.k;
        ctx.stroke();
      }
      // Direction: a small arrowhead near the destination of emphasised edges when zoomed in enough.
      if (!fast && v.k > 0.6 && s.edges.length < 4000) {
        ctx.globalAlpha = 0.8;
        for (const e of s.edges) {
          const a = s.positions.get(e.source);
          const b = s.positions.get(e.destination);
          if (!a || !b || !inView(b)) continue;
          if (dimming && !(focus(e.source) || focus(e.destination) || e.id === s.selectedEdge)) continue;
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
      const sel = s.edges.find((e) => e.id === s.selectedEdge);
      if (sel) {
        const a = s.positions.get(sel.source);
        const b = s.positions.get(sel.destination);
        if (a && b) {
          ctx.globalAlpha = 1;
          ctx.strokeStyle = col.accent;
          ctx.lineWidth = (sel.width + 3) / v.k;
          ctx.beginPath();
          ctx.moveTo(a.x, a.y);
          ctx.lineTo(b.x, b.y);
          ctx.stroke();
        }
      }
      // Nodes: batched per level and emphasis.
      for (const level of LEVELS) {
        for (const strong of [false, true]) {
          ctx.beginPath();
          let any = false;
          for (const n of s.nodes) {
            if (n.level !== level) continue;
            if ((!dimming || focus(n.id)) !== strong) continue;
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
      // Labels in screen space, only where they fit.
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.globalAlpha = 1;
      ctx.font = '12px system-ui, sans-serif';
      ctx.textBaseline = 'middle';
      const showAll = !fast && (s.nodes.length <= 120 || v.k >= 1.3);
      let drawn = 0;
      for (const n of s.nodes) {
        const p = s.positions.get(n.id);
        if (!p || !inView(p)) continue;
        const emph = focus(n.id) || n.id === hoverRef.current;
        if (!emph && (!showAll || (dimming && !focus(n.id)))) continue;
        if (!emph && ++drawn > 400) continue;
        ctx.fillStyle = emph ? col.text : col.muted;
        ctx.fillText(n.label, p.x * v.k + v.x + n.r * v.k + 4, p.y * v.k + v.y);
      }
      if (s.groups) {
        const centre = new Map<string, { x: number; y: number; n: number; minY: number }>();
        for (const n of s.nodes) {
          const p = s.positions.get(n.id);
          if (!p) continue;
          const g = centre.get(n.group) ?? { x: 0, y: 0, n: 0, minY: Infinity };
          g.x += p.x;
          g.y += p.y;
          g.n++;
          g.minY = Math.min(g.minY, p.y);
          centre.set(n.group, g);
        }
        ctx.font = '600 13px system-ui, sans-serif';
        ctx.textAlign = 'center';
        for (const [name, g] of centre) {
          ctx.fillStyle = col.accent;
          ctx.fillText(name || '(no namespace)', (g.x / g.n) * v.k + v.x, g.minY * v.k + v.y - 18);
        }
        ctx.textAlign = 'start';
      }
    }
  };

  // Zoom / pan with d3-zoom; the transform lives in a ref and only triggers a redraw.
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const z = zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([0.03, 12])
      .on('zoom', (ev: { transform: View; sourceEvent: unknown }) => {
        view.current = { k: ev.transform.k, x: ev.transform.x, y: ev.transform.y };
        if (ev.sourceEvent) {
          interacting.current = true;
          if (idleTimer.current) clearTimeout(idleTimer.current);
          idleTimer.current = setTimeout(() => {
            interacting.current = false;
            draw();
          }, 150);
        }
        draw();
      });
    zoomer.current = z;
    select(c).call(z).on('dblclick.zoom', null);
    const ro = new ResizeObserver(() => draw());
    if (wrap.current) ro.observe(wrap.current);
    const onTheme = () => setThemeTick((t) => t + 1);
    window.addEventListener('sextant-theme', onTheme);
    return () => {
      ro.disconnect();
      window.removeEventListener('sextant-theme', onTheme);
      select(c).on('.zoom', null);
      cancelAnimationFrame(frame.current);
    };
    // draw reads refs
  }, []);

  // Fit when the data set changes (not on every refresh: positions stay stable, so the view does too).
  useEffect(() => {
    const c = canvas.current;
    const w = wrap.current;
    if (!c || !w || !zoomer.current || !positions.size) return;
    const f = fitView(positions, w.clientWidth, w.clientHeight, 50);
    select(c).call(zoomer.current.transform, zoomIdentity.translate(f.x, f.y).scale(f.k));
    // only on a new data set
  }, [fitKey, positions.size > 0]);

  useEffect(() => draw());
  void themeTick;

  const pick = (ev: React.MouseEvent<HTMLCanvasElement>) => {
    const rect = (ev.target as HTMLCanvasElement).getBoundingClientRect();
    const sx = ev.clientX - rect.left;
    const sy = ev.clientY - rect.top;
    const wp = toWorld(view.current, sx, sy);
    const node = hitNode(positions, wp, Math.max(10, 8 / view.current.k));
    const edge = node ? null : hitEdge(edges, positions, wp, 6 / view.current.k);
    return { sx, sy, node, edge };
  };

  return (
    <div ref={wrap} style={{ position: 'absolute', inset: 0 }}>
      <canvas
        ref={canvas}
        role="img"
        aria-label="service map"
        data-nodes={nodes.length}
        data-edges={edges.length}
        onClick={(ev) => {
          const h = pick(ev);
          if (h.node) onNodeClick(h.node);
          else if (h.edge) onEdgeClick(h.edge.id);
          else onBackgroundClick();
        }}
        onMouseMove={(ev) => {
          if (ev.buttons) return;
          const h = pick(ev);
          const text = h.node ? (byId.get(h.node)?.label ?? h.node) : h.edge ? h.edge.tip : null;
          const hover = h.node ?? null;
          if (hover !== hoverRef.current) {
            hoverRef.current = hover;
            draw();
          }
          setTip(text ? { x: h.sx + 14, y: h.sy + 14, text } : null);
        }}
        onMouseLeave={() => setTip(null)}
      />
      {tip && <div className="map-tip" style={{ left: tip.x, top: tip.y }}>{tip.text}</div>}
    </div>
  );
}
