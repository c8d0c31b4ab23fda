/** Time range state in the URL: `?range=1h` (relative) or `?since=…&until=…` (epoch ms, absolute). */
export const RANGES: Record<string, number> = {
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '24h': 86_400_000,
  '7d': 604_800_000,
};

export interface TimeRange {
  since: number;
  until: number;
  label: string;
  absolute: boolean;
}

function short(ms: number): string {
  return new Date(ms).toLocaleString([], {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
}

export function parseRange(params: URLSearchParams, now = Date.now()): TimeRange {
  const since = Number(params.get('since'));
  const until = Number(params.get('until'));
  if (since > 0 && until > since) return { since, until, label: `${short(since)} – ${short(until)}`, absolute: true };
  const key = params.get('range') ?? '1h';
  const ms = RANGES[key] ?? RANGES['1h'] ?? 3_600_000;
  return { since: now - ms, until: now, label: `last ${key in RANGES ? key : '1h'}`, absolute: false };
}

/** Query parameters for an absolute range (e.g. after brushing a chart), other parameters kept. */
export function withAbsoluteRange(params: URLSearchParams, since: number, until: number): URLSearchParams {
  const next = new URLSearchParams(params.toString());
  next.delete('range');
  next.set('since', String(Math.round(Math.min(since, until))));
  next.set('until', String(Math.round(Math.max(since, until))));
  return next;
}

export function withRelativeRange(params: URLSearchParams, key: string): URLSearchParams {
  const next = new URLSearchParams(params.toString());
  next.set('range', key in RANGES ? key : '1h');
  next.delete('since');
  next.delete('until');
  return next;
}

/** `datetime-local` input value (local time, minutes) ↔ epoch ms. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(v: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v)) return null;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? null : t;
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

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1);
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}
