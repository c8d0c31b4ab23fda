/**
 * Where a time-series chart draws lines, pure so it is tested without a browser. A step with no data
 * (null) breaks the line — an outage is a gap, not a dive to 0 % errors and 0 ns — and a partial step (the
 * one still in progress, or one the window cuts) is not joined to the line, where its smaller sums would
 * read as a dip: it is drawn as a hollow marker instead.
 */
export interface ChartPoint {
  t: number;
  v: number | null;
  partial?: boolean;
}

export interface ChartShapes {
  /** SVG path data, one per run of consecutive complete points with values. */
  paths: string[];
  /** Complete points that stand alone between gaps: drawn as dots, a path of one point being invisible. */
  dots: { x: number; y: number }[];
  /** Partial points with a value: hollow markers. */
  partial: { x: number; y: number }[];
}

const r = (n: number) => Math.round(n * 100) / 100;

export function chartShapes(points: readonly ChartPoint[], x: (t: number) => number, y: (v: number) => number): ChartShapes {
  const out: ChartShapes = { paths: [], dots: [], partial: [] };
  let run: { x: number; y: number }[] = [];
  const close = () => {
    if (run.length === 1) out.dots.push(run[0] as { x: number; y: number });
    else if (run.length > 1) out.paths.push(run.map((p, i) => `${i ? 'L' : 'M'}${r(p.x)},${r(p.y)}`).join(''));
    run = [];
  };
  for (const p of [...points].sort((a, b) => a.t - b.t)) {
    if (p.v === null || !Number.isFinite(p.v)) {
      close();
      continue;
    }
    const at = { x: x(p.t), y: y(p.v) };
    if (p.partial) {
      close();
      out.partial.push(at);
      continue;
    }
    run.push(at);
  }
  close();
  return out;
}
