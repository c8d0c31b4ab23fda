'use client';
/**
 * A time-series line chart: d3 computes scales and paths, React renders the SVG. Dragging across the plot
 * selects a time range (brush) and hands it to onBrush, which zooms the whole page to it. The panel header
 * links to the matching flows. Fixed height, so loading and refreshing never shift the page.
 */
import Link from 'next/link';
import { scaleLinear, scaleTime } from 'd3-scale';
import { line } from 'd3-shape';
import { useRef, useState, type ReactNode } from 'react';

export interface Series {
  label: string;
  colour: string;
  points: { t: number; v: number | null }[];
}

export const PALETTE = ['var(--accent)', 'var(--ok)', 'var(--warn)', 'var(--bad)', '#a371f7', '#3fb5b5', '#db61a2', '#8a98a8'];

export function ChartPanel({ title, drill, extra, children }: { title: string; drill?: string; extra?: ReactNode; children: ReactNode }) {
  return (
    <div className="panel chart-panel">
      <div className="row">
        <strong>{title}</strong>
        {drill && <Link className="drill" href={drill} title="the flows behind this panel">flows →</Link>}
        {extra}
      </div>
      {children}
    </div>
  );
}

export function LineChart({ title, series, format, since, until, onBrush, drill, extra, loading = false, height = 180 }: {
  title: string;
  series: Series[];
  format: (v: number) => string;
  since: number;
  until: number;
  onBrush?: (since: number, until: number) => void;
  drill?: string;
  extra?: ReactNode;
  /** The data is still on its way: say so instead of "no data". */
  loading?: boolean;
  height?: number;
}) {
  const width = 560;
  const m = { top: 10, right: 12, bottom: 22, left: 64 };
  const svg = useRef<SVGSVGElement>(null);
  const [brush, setBrush] = useState<{ a: number; b: number } | null>(null);
  const vs = series.flatMap((s) => s.points.map((p) => p.v ?? 0));
  const x = scaleTime().domain([since, until]).range([m.left, width - m.right]);
  const top = Math.max(0, ...vs);
  // An all-zero series still gets a readable axis (0 … 1), not five ticks of 0.00.
  const y = scaleLinear().domain([0, top > 0 ? top : 1]).nice().range([height - m.bottom, m.top]);
  const path = line<{ t: number; v: number | null }>().defined((p) => p.v !== null).x((p) => x(p.t)).y((p) => y(p.v ?? 0));
  const toX = (clientX: number) => {
    const r = svg.current?.getBoundingClientRect();
    if (!r) return m.left;
    return Math.max(m.left, Math.min(width - m.right, ((clientX - r.left) / r.width) * width));
  };
  const empty = series.every((s) => s.points.length === 0);
  return (
    <ChartPanel title={title} drill={drill} extra={extra}>
      <div className="legend">{series.map((s) => <span key={s.label} className="legend-item" style={{ color: s.colour }}>● {s.label}</span>)}</div>
      <svg
        ref={svg}
        width="100%"
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={title}
        style={{ cursor: onBrush ? 'crosshair' : undefined }}
        onMouseDown={(e) => {
          if (!onBrush) return;
          const a = toX(e.clientX);
          setBrush({ a, b: a });
        }}
        onMouseMove={(e) => brush && setBrush({ a: brush.a, b: toX(e.clientX) })}
        onMouseUp={() => {
          if (brush && onBrush && Math.abs(brush.b - brush.a) > 4) onBrush(x.invert(Math.min(brush.a, brush.b)).getTime(), x.invert(Math.max(brush.a, brush.b)).getTime());
          setBrush(null);
        }}
        onMouseLeave={() => setBrush(null)}
      >
        {y.ticks(4).map((v) => (
          <g key={v}>
            <line x1={m.left} x2={width - m.right} y1={y(v)} y2={y(v)} stroke="var(--line)" />
            <text x={m.left - 6} y={y(v) + 4} textAnchor="end">{format(v)}</text>
          </g>
        ))}
        {x.ticks(5).map((t) => (
          <text key={+t} x={x(t)} y={height - 6} textAnchor="middle">{t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false })}</text>
        ))}
        {series.map((s) => <path key={s.label} d={path(s.points) ?? ''} fill="none" stroke={s.colour} strokeWidth={1.8} />)}
        {series.map((s) => s.points.length === 1 && s.points[0]?.v !== null ? <circle key={`${s.label}-dot`} cx={x(s.points[0]?.t ?? 0)} cy={y(s.points[0]?.v ?? 0)} r={3} fill={s.colour} /> : null)}
        {empty && <text x={width / 2} y={height / 2} textAnchor="middle">{loading ? 'loading…' : 'no data in this window'}</text>}
        {brush && <rect x={Math.min(brush.a, brush.b)} y={m.top} width={Math.abs(brush.b - brush.a)} height={height - m.top - m.bottom} fill="var(--accent)" opacity={0.18} />}
      </svg>
    </ChartPanel>
  );
}
