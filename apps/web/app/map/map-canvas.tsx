'use client';
/**
 * Canvas host of the service map: sizes the canvas to its box, keeps the d3-zoom transform in a ref, and
 * schedules one frame per animation frame when something changed (data, selection, view, hover, theme),
 * painted by the pure map-paint.ts. Hit-testing for clicks and hovers is plain geometry (map-layout.ts).
 */
import { select, zoom, zoomIdentity, type ZoomBehavior } from 'd3';
import { useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import { fitView, hitEdge, hitNode, toWorld, type Positions, type View } from '../../src/client/map-layout';
import { paintMap, type CanvasEdge, type CanvasNode, type MapScene, type Palette } from '../../src/client/map-paint';

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

function readPalette(el: HTMLElement): Palette {
  const s = getComputedStyle(el);
  const v = (n: string) => s.getPropertyValue(n).trim() || '#888';
  return {
    ok: v('--ok'),
    warn: v('--warn'),
    bad: v('--bad'),
    text: v('--text'),
    muted: v('--muted'),
    accent: v('--accent'),
    panel: v('--panel'),
  };
}

/**
 * d3-zoom on the canvas: the transform lives in `view` and only triggers `draw`, not React. While panning or
 * zooming, `interacting` is true so big maps paint fast frames; a full frame follows 150 ms after the last
 * movement. Also redraws on resize and theme changes (CSS colours are read per frame).
 */
function useMapZoom(
  canvas: RefObject<HTMLCanvasElement | null>,
  wrap: RefObject<HTMLDivElement | null>,
  view: RefObject<View>,
  draw: () => void,
) {
  const zoomer = useRef<ZoomBehavior<HTMLCanvasElement, unknown> | null>(null);
  const interacting = useRef(false);
  const [, setThemeTick] = useState(0);
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    let idleTimer: ReturnType<typeof setTimeout> | null = null;
    const z = zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([0.03, 12])
      .on('zoom', (ev: { transform: View; sourceEvent: unknown }) => {
        view.current = { k: ev.transform.k, x: ev.transform.x, y: ev.transform.y };
        if (ev.sourceEvent) {
          interacting.current = true;
          if (idleTimer) clearTimeout(idleTimer);
          idleTimer = setTimeout(() => {
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
      if (idleTimer) clearTimeout(idleTimer);
      ro.disconnect();
      window.removeEventListener('sextant-theme', onTheme);
      select(c).on('.zoom', null);
    };
    // draw reads refs only: binding it once is enough
  }, []);
  return { zoomer, interacting };
}

export interface MapCanvasProps {
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
}

export function MapCanvas({
  nodes,
  edges,
  positions,
  groups,
  highlight,
  selectedNode,
  selectedEdge,
  onNodeClick,
  onEdgeClick,
  onBackgroundClick,
  fitKey,
}: MapCanvasProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const view = useRef<View>({ k: 1, x: 0, y: 0 });
  const frame = useRef(0);
  const hover = useRef<string | null>(null);
  const [tip, setTip] = useState<{ x: number; y: number; text: string } | null>(null);
  const byId = useMemo(() => new Map(nodes.map((n) => [n.id, n])), [nodes]);
  // Everything the paint needs, in a ref, so zoom events redraw without React.
  const scene = useRef<Omit<MapScene, 'hover'>>({ nodes, edges, positions, byId, groups, highlight, selectedNode, selectedEdge });
  scene.current = { nodes, edges, positions, byId, groups, highlight, selectedNode, selectedEdge };

  const paint = () => {
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
    if (!ctx) return;
    const fast = zoomState.interacting.current && scene.current.edges.length > 500;
    paintMap(ctx, { ...scene.current, hover: hover.current }, { width, height, dpr, view: view.current, fast }, readPalette(w));
  };
  const draw = () => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const t0 = performance.now();
      paint();
      measureFrame(t0, scene.current.nodes.length > 0);
    });
  };
  const zoomState = useMapZoom(canvas, wrap, view, draw);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  // Fit when the data set changes (not on every refresh: positions stay stable, so the view does too).
  useEffect(() => {
    const c = canvas.current;
    const w = wrap.current;
    if (!c || !w || !zoomState.zoomer.current || !positions.size) return;
    const f = fitView(positions, w.clientWidth, w.clientHeight, 50);
    select(c).call(zoomState.zoomer.current.transform, zoomIdentity.translate(f.x, f.y).scale(f.k));
    // only on a new data set
  }, [fitKey, positions.size > 0]);

  useEffect(() => draw());

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
          if ((h.node ?? null) !== hover.current) {
            hover.current = h.node ?? null;
            draw();
          }
          setTip(text ? { x: h.sx + 14, y: h.sy + 14, text } : null);
        }}
        onMouseLeave={() => setTip(null)}
      />
      {tip && (
        <div className="map-tip" style={{ left: tip.x, top: tip.y }}>
          {tip.text}
        </div>
      )}
    </div>
  );
}
