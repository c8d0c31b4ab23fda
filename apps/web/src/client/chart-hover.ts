/**
 * Chart hover values, pure so they are tested without a browser: the step nearest the pointer, each series'
 * value at it with its unit, and what the unit is — a rate per second (averaged over the step) or a count
 * per step (of how many seconds) — so a reader never mistakes one for the other.
 */
import type { ChartPoint } from './chart-paths';

export type ChartUnit = 'per-second' | 'per-step' | 'ratio' | 'duration';

/** The unit a dashboard chart's values are in, from its title when the page does not say. */
export function inferUnit(title: string): ChartUnit {
  if (/\/\s*s\b|per second/i.test(title)) return 'per-second';
  if (/ratio|%/i.test(title)) return 'ratio';
  if (/latency|duration|rtt/i.test(title)) return 'duration';
  return 'per-step';
}

/** The step of a series: the smallest gap between consecutive point times (ms), or null with < 2 points. */
export function stepMs(series: readonly { points: readonly ChartPoint[] }[]): number | null {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
  let step: number | null = null;
  for (let i = 1; i < times.length; i++) {
    const d = (times[i] as number) - (times[i - 1] as number);
    if (d > 0 && (step === null || d < step)) step = d;
  }
  return step;
}

const seconds = (ms: number) => (ms % 60_000 === 0 && ms >= 120_000 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`);

/** What the values mean, said once per chart (the hover box and the axis note). */
export function unitNote(unit: ChartUnit, step: number | null): string {
  const s = step === null ? 'step' : `${seconds(step)} step`;
  switch (unit) {
    case 'per-second':
      return `per second, averaged over each ${s}`;
    case 'per-step':
      return `count per ${s}`;
    case 'ratio':
      return `ratio per ${s}`;
    case 'duration':
      return `per ${s}`;
  }
}

/** The suffix a hovered value carries. */
export function unitSuffix(unit: ChartUnit, step: number | null): string {
  if (unit === 'per-second') return ' /s';
  if (unit === 'per-step') return step === null ? ' per step' : ` per ${seconds(step)}`;
  return '';
}

export interface HoverRow {
  label: string;
  colour: string;
  text: string;
}

export interface Hover {
  t: number;
  partial: boolean;
  rows: HoverRow[];
}

/** The values at the step nearest `t` (null when no series has a point). A step with no data reads "no data", not 0. */
export function hoverAt(
  series: readonly { label: string; colour: string; points: readonly ChartPoint[] }[],
  t: number,
  format: (v: number) => string,
  suffix: string,
): Hover | null {
  let best: number | null = null;
  for (const s of series) for (const p of s.points) if (best === null || Math.abs(p.t - t) < Math.abs(best - t)) best = p.t;
  if (best === null) return null;
  const at = best;
  let partial = false;
  const rows = series.map((s) => {
    const p = s.points.find((x) => x.t === at);
    if (p?.partial) partial = true;
    const text = !p || p.v === null || !Number.isFinite(p.v) ? 'no data' : `${format(p.v)}${suffix}`;
    return { label: s.label, colour: s.colour, text };
  });
  return { t: at, partial, rows };
}
