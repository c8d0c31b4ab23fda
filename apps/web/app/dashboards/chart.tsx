'use client';
/**
 * A time-series line chart: d3 computes scales and paths, React renders the SVG. Dragging across the plot
 * selects a time range (brush) and hands it to onBrush, which zooms the whole page to it. The panel header
 * links to the matching flows. Fixed height, so loading and refreshing never shift the page. A step with no
 * data is a gap and the partial last step a hollow marker (src/client/chart-paths.ts). Hovering shows every
 * series' value at the nearest step with its unit — per second (averaged over the step) or per step — stated
 * (src/client/chart-hover.ts); the unit comes from `unit`, else from the title ("… / s" is a rate).
 */
import Link from 'next/link';
import { scaleLinear, scaleTime } from 'd3-scale';
import { useRef, useState, type ReactNode } from 'react';
import { hoverAt, inferUnit, stepMs, unitNote, unitSuffix, type ChartUnit, type Hover } from '../../src/client/chart-hover';
import { chartShapes, type ChartPoint } from '../../src/client/chart-paths';

export interface Series {
  label: string;
  colour: string;
  points: ChartPoint[];
}

export const PALETTE = ['var(--accent)', 'var(--ok)', 'var(--warn)', 'var(--bad)', '#a371f7', '#3fb5b5', '#db61a2', '#8a98a8'];

export function ChartPanel({
  title,
  drill,
  extra,
  note,
  children,
}: {
  title: string;
  drill?: string;
  extra?: ReactNode;
  note?: string;
  children: ReactNode;
}) {
  return (
    <div className="panel chart-panel">
      <div className="row">
        <strong title={note}>
          {title}
          {note && (
            <span className="muted" aria-label={note}>
              {' '}
              ⓘ
            </span>
          )}
        </strong>
        {drill && (
          <Link className="drill" href={drill} title="the flows behind this panel">
            flows →
          </Link>
        )}
        {extra}
      </div>
      {children}
    </div>
  );
}

export function LineChart({
  title,
  series,
  format,
  since,
  until,
  onBrush,
  drill,
  extra,
  note,
  unit,
  loading = false,
  height = 180,
}: {
  title: string;
  /** Tooltip on the title: what the values mean (units, precision). */
  note?: string;
  series: Series[];
  format: (v: number) => string;
  since: number;
  until: number;
  onBrush?: (since: number, until: number) => void;
  drill?: string;
  extra?: ReactNode;
  /** What the values are: a rate per second, a count per step, a ratio or a duration (default: from the title). */
  unit?: ChartUnit;
  /** The data is still on its way: say so instead of "no data". */
  loading?: boolean;
  height?: number;
}) {
  const width = 560;
  const m = { top: 10, right: 12, bottom: 22, left: 64 };
  const svg = useRef<SVGSVGElement>(null);
  const [brush, setBrush] = useState<{ a: number; b: number } | null>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  const vs = series.flatMap((s) => s.points.flatMap((p) => (p.v === null ? [] : [p.v])));
  const x = scaleTime()
    .domain([since, until])
    .range([m.left, width - m.right]);
  const top = Math.max(0, ...vs);
  // An all-zero series still gets a readable axis (0 … 1), not five ticks of 0.00.
  const y = scaleLinear()
    .domain([0, top > 0 ? top : 1])
    .nice()
    .range([height - m.bottom, m.top]);
  const toX = (clientX: number) => {
    const r = svg.current?.getBoundingClientRect();
    if (!r) return m.left;
    return Math.max(m.left, Math.min(width - m.right, ((clientX - r.left) / r.width) * width));
  };
  const empty = vs.length === 0;
  const shapes = series.map((s) => ({
    s,
    ...chartShapes(
      s.points,
      (t) => x(t),
      (v) => y(v),
    ),
  }));
  const kind = unit ?? inferUnit(title);
  const step = stepMs(series);
  const suffix = unitSuffix(kind, step);
  const hoverTo = (clientX: number) => setHover(empty ? null : hoverAt(series, x.invert(toX(clientX)).getTime(), format, suffix));
  return (
    <ChartPanel title={title} drill={drill} extra={extra} note={note}>
      <div className="legend">
        {series.map((s) => (
          <span key={s.label} className="legend-item" style={{ color: s.colour }}>
            ● {s.label}
          </span>
        ))}
      </div>
      <div className="chart-box">
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
          onMouseMove={(e) => {
            if (brush) setBrush({ a: brush.a, b: toX(e.clientX) });
            hoverTo(e.clientX);
          }}
          onMouseUp={() => {
            if (brush && onBrush && Math.abs(brush.b - brush.a) > 4)
              onBrush(x.invert(Math.min(brush.a, brush.b)).getTime(), x.invert(Math.max(brush.a, brush.b)).getTime());
            setBrush(null);
          }}
          onMouseLeave={() => {
            setBrush(null);
            setHover(null);
          }}
        >
          {y.ticks(4).map((v) => (
            <g key={v}>
              <line x1={m.left} x2={width - m.right} y1={y(v)} y2={y(v)} stroke="var(--line)" />
              <text x={m.left - 6} y={y(v) + 4} textAnchor="end">
                {format(v)}
              </text>
            </g>
          ))}
          {x.ticks(5).map((t) => (
            <text key={+t} x={x(t)} y={height - 6} textAnchor="middle">
              {t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false })}
            </text>
          ))}
          {shapes.map(({ s, paths, dots, partial }) => (
            <g key={s.label}>
              {paths.map((d, i) => (
                <path key={i} d={d} fill="none" stroke={s.colour} strokeWidth={1.8} />
              ))}
              {dots.map((p, i) => (
                <circle key={`d${i}`} cx={p.x} cy={p.y} r={2.5} fill={s.colour} />
              ))}
              {partial.map((p, i) => (
                <circle key={`p${i}`} cx={p.x} cy={p.y} r={3} fill="none" stroke={s.colour} strokeWidth={1.5}>
                  <title>{`${s.label}: step still in progress (partial)`}</title>
                </circle>
              ))}
            </g>
          ))}
          {empty && (
            <text x={width / 2} y={height / 2} textAnchor="middle">
              {loading ? 'loading…' : 'no data in this window'}
            </text>
          )}
          {!empty && (
            <text x={width - m.right} y={m.top + 2} textAnchor="end" className="muted" fontSize={9}>
              {unitNote(kind, step)} · gap = no data · ○ = partial step
            </text>
          )}
          {hover && <line x1={x(hover.t)} x2={x(hover.t)} y1={m.top} y2={height - m.bottom} stroke="var(--muted)" strokeDasharray="3 3" />}
          {brush && (
            <rect
              x={Math.min(brush.a, brush.b)}
              y={m.top}
              width={Math.abs(brush.b - brush.a)}
              height={height - m.top - m.bottom}
              fill="var(--accent)"
              opacity={0.18}
            />
          )}
        </svg>
        {hover && (
          <div
            className="chart-hover"
            role="status"
            style={{ left: `${(x(hover.t) / width) * 100}%` }}
            data-side={x(hover.t) > width / 2 ? 'left' : 'right'}
          >
            <div className="muted">
              {new Date(hover.t).toLocaleTimeString([], { hour12: false })}
              {hover.partial ? ' (step in progress)' : ''} · {unitNote(kind, step)}
            </div>
            {hover.rows.map((r) => (
              <div key={r.label}>
                <span style={{ color: r.colour }}>●</span> {r.label}: <strong>{r.text}</strong>
              </div>
            ))}
          </div>
        )}
      </div>
    </ChartPanel>
  );
}
