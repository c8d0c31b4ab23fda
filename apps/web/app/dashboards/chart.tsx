'use client';
/** A small time-series line chart: d3 computes scales and paths, React renders the SVG. */
import { scaleLinear, scaleTime } from 'd3-scale';
import { line } from 'd3-shape';

export interface Series {
  label: string;
  colour: string;
  points: { t: number; v: number | null }[];
}

export function LineChart({ title, series, format, height = 180 }: { title: string; series: Series[]; format: (v: number) => string; height?: number }) {
  const width = 560;
  const m = { top: 10, right: 12, bottom: 22, left: 60 };
  const all = series.flatMap((s) => s.points);
  const ts = all.map((p) => p.t);
  const vs = all.map((p) => p.v ?? 0);
  const x = scaleTime().domain([Math.min(...ts, Date.now() - 1), Math.max(...ts, Date.now())]).range([m.left, width - m.right]);
  const y = scaleLinear().domain([0, Math.max(1e-9, ...vs)]).nice().range([height - m.bottom, m.top]);
  const path = line<{ t: number; v: number | null }>().defined((p) => p.v !== null).x((p) => x(p.t)).y((p) => y(p.v ?? 0));
  return (
    <div className="panel">
      <div className="row"><strong>{title}</strong>{series.map((s) => <span key={s.label} style={{ color: s.colour }}>● {s.label}</span>)}</div>
      <svg width="100%" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        {y.ticks(4).map((v) => (
          <g key={v}>
            <line x1={m.left} x2={width - m.right} y1={y(v)} y2={y(v)} stroke="var(--line)" />
            <text x={m.left - 6} y={y(v) + 4} textAnchor="end">{format(v)}</text>
          </g>
        ))}
        {x.ticks(5).map((t) => (
          <text key={+t} x={x(t)} y={height - 6} textAnchor="middle">{t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</text>
        ))}
        {series.map((s) => <path key={s.label} d={path(s.points) ?? ''} fill="none" stroke={s.colour} strokeWidth={1.8} />)}
      </svg>
    </div>
  );
}
