/** Time range state in the URL: `?range=1h` (relative) or `?since=…&until=…` (epoch ms, absolute). */
export const RANGES: Record<string, number> = { '5m': 300_000, '15m': 900_000, '1h': 3_600_000, '6h': 21_600_000, '24h': 86_400_000, '7d': 604_800_000 };

export interface TimeRange {
  since: number;
  until: number;
  label: string;
}

export function parseRange(params: URLSearchParams, now = Date.now()): TimeRange {
  const since = Number(params.get('since'));
  const until = Number(params.get('until'));
  if (since > 0 && until > since) return { since, until, label: `${new Date(since).toLocaleString()} – ${new Date(until).toLocaleString()}` };
  const key = params.get('range') ?? '1h';
  const ms = RANGES[key] ?? RANGES['1h'] ?? 3_600_000;
  return { since: now - ms, until: now, label: `last ${key in RANGES ? key : '1h'}` };
}

export function formatNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined) return '–';
  if (ns < 1_000) return `${Math.round(ns)} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(ns < 10_000 ? 1 : 0)} µs`;
  if (ns < 1_000_000_000) return `${(ns / 1_000_000).toFixed(ns < 10_000_000 ? 2 : 1)} ms`;
  return `${(ns / 1_000_000_000).toFixed(2)} s`;
}

export function formatRate(perSecond: number): string {
  if (perSecond >= 100) return `${Math.round(perSecond)}/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)}/s`;
  return `${perSecond.toFixed(3)}/s`;
}
