/**
 * The flow search view lives in the URL so a link reproduces it: `q` (hubble observe flags), the time range
 * (`range` or `since`/`until`, see time-range.ts), `live=1` for the live tail and `sel=<flow id>@<epoch ms>`
 * for the open connection (with `ev=<event id>` when an L7 exchange was picked). Older links with separate
 * fields (from, to, ip, status, verdict, protocol) are turned into the equivalent flag line.
 */
export interface FlowsState {
  q: string;
  live: boolean;
  selected: { flowId: string; time: number; eventId: string | null } | null;
  /** Also Sextant's own traffic (URL `self=1`); hidden by default. */
  includeSelf: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Quotes a value for the flag line when it holds spaces or quotes. */
export function quoteArg(v: string): string {
  return /^[\w./:@+*,-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

const LEGACY: [string, string][] = [
  ['from', '--from-service'],
  ['to', '--to-service'],
  ['ip', '--ip'],
  ['status', '--http-status'],
  ['verdict', '--verdict'],
  ['protocol', '--protocol'],
];

export function legacyQuery(p: URLSearchParams): string {
  const parts: string[] = [];
  for (const [key, flag] of LEGACY) {
    for (const v of (p.get(key) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      parts.push(`${flag} ${quoteArg(v)}`);
  }
  return parts.join(' ');
}

export function readFlowsState(p: URLSearchParams): FlowsState {
  const q = p.get('q')?.trim() || legacyQuery(p);
  let selected: FlowsState['selected'] = null;
  const sel = p.get('sel');
  const m = sel ? /^([0-9a-f-]{36})@(\d+(?:\.\d+)?)$/i.exec(sel) : null;
  if (m && UUID.test(m[1] as string)) {
    const ev = p.get('ev');
    selected = { flowId: (m[1] as string).toLowerCase(), time: Number(m[2]), eventId: ev && UUID.test(ev) ? ev.toLowerCase() : null };
  }
  return { q, live: p.get('live') === '1', selected, includeSelf: p.get('self') === '1' };
}

/** A new query string with the patch applied; unrelated parameters (time range) are kept. */
export function writeFlowsState(base: URLSearchParams, patch: Partial<FlowsState>): URLSearchParams {
  const next = new URLSearchParams(base.toString());
  const cur = readFlowsState(base);
  const s = { ...cur, ...patch };
  for (const [key] of LEGACY) next.delete(key);
  if (s.q) next.set('q', s.q);
  else next.delete('q');
  if (s.live) next.set('live', '1');
  else next.delete('live');
  if (s.includeSelf) next.set('self', '1');
  else next.delete('self');
  if (s.selected) {
    next.set('sel', `${s.selected.flowId}@${Math.round(s.selected.time)}`);
    if (s.selected.eventId) next.set('ev', s.selected.eventId);
    else next.delete('ev');
  } else {
    next.delete('sel');
    next.delete('ev');
  }
  return next;
}

/** Link to the flow search for a filter line, keeping the given time range parameters (and `self`). */
export function flowsLink(q: string, range: URLSearchParams): string {
  const next = new URLSearchParams();
  for (const k of ['range', 'since', 'until', 'self']) {
    const v = range.get(k);
    if (v) next.set(k, v);
  }
  if (q) next.set('q', q);
  return `/flows?${next.toString()}`;
}

/** Flags selecting one service (namespace/name ids as used by the map) on a side of the flow. */
export function serviceFlags(side: 'from' | 'to' | 'either', id: string): string {
  const slash = id.lastIndexOf('/');
  const name = slash >= 0 ? id.slice(slash + 1) : id;
  const ns = slash >= 0 ? id.slice(0, slash) : '';
  const pre = side === 'either' ? '--' : `--${side}-`;
  return [`${pre}service ${quoteArg(name)}`, ns ? `${pre}namespace ${quoteArg(ns)}` : ''].filter(Boolean).join(' ');
}
