/**
 * Output of `sextant observe` in hubble's formats: compact (one line per flow), dict (a block per flow),
 * table (aligned columns), json (the Flow object) and jsonpb (the whole `hubble observe -o jsonpb` line).
 * Timestamps are local time like hubble's ("Jan  2 15:04:05.000"); set TZ to choose the zone.
 */
import type { Endpoint, FilterRecord, HubbleFlow, ObserveOutput } from '@sextant/shared';
import { hubbleSummary, isPrivateIp, toHubbleJson, WORLD } from '@sextant/shared';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's "Jan _2 15:04:05.000" layout, in local time. */
export function hubbleTime(ms: number): string {
  const d = new Date(Math.floor(ms));
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

const humanize = (reason: string) => {
  const s = reason.toLowerCase().replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
};

/** The TYPE column: the L7 exchange kind, the drop reason, or the observation point of a connection. */
export function flowType(f: HubbleFlow): string {
  if (f.l7) {
    const proto = f.l7.http ? 'http' : f.l7.dns ? 'dns' : 'kafka';
    const kind = f.l7.type === 'RESPONSE' ? 'response' : f.l7.type === 'REQUEST' ? 'request' : 'sample';
    return `${proto}-${kind}`;
  }
  if (f.verdict === 'DROPPED') return f.drop_reason_desc ? humanize(f.drop_reason_desc) : 'Drop';
  return f.traffic_direction === 'INGRESS' ? 'to-endpoint' : f.traffic_direction === 'EGRESS' ? 'to-stack' : 'trace';
}

interface Side {
  ip: string;
  port?: number;
  endpoint: Endpoint;
}

/** The Hubble line's source and destination: an L7 response goes server → client there. */
function sides(r: FilterRecord): [Side, Side] {
  const src = r.kind === 'flow' ? r.flow.source : r.event.source;
  const dst = r.kind === 'flow' ? r.flow.destination : r.event.destination;
  const [a, b] = r.kind === 'l7' && r.event.type === 'RESPONSE' ? [dst, src] : [src, dst];
  return [
    { ip: a.ip, port: a.port, endpoint: a },
    { ip: b.ip, port: b.port, endpoint: b },
  ];
}

const withPort = (host: string, port?: number) => (port ? `${host.includes(':') ? `[${host}]` : host}:${port}` : host);

/** Host as hubble names it: namespace/pod, else namespace/service, else a DNS name, else the IP. */
function hostName(s: Side): string {
  const e = s.endpoint;
  if (e.podName) return withPort(e.namespace ? `${e.namespace}/${e.podName}` : e.podName, s.port);
  if (e.service) return withPort(e.namespace ? `${e.namespace}/${e.service}` : e.service, s.port);
  if (e.names?.[0]) return withPort(e.names[0], s.port);
  return withPort(s.ip, s.port);
}

/** Compact: the address (or pod) and, in parentheses, the service Sextant resolved for it. */
function compactSide(s: Side): string {
  const e = s.endpoint;
  const host = withPort(e.podName ? (e.namespace ? `${e.namespace}/${e.podName}` : e.podName) : s.ip, s.port);
  const label = e.service ?? (isPrivateIp(s.ip) ? undefined : WORLD);
  return label ? `${host} (${label})` : host;
}

export interface Row {
  time: string;
  node: string;
  source: string;
  destination: string;
  type: string;
  verdict: string;
  summary: string;
}

function describe(r: FilterRecord): { line: ReturnType<typeof toHubbleJson>; row: Row; compact: string } {
  const line = toHubbleJson(r.kind === 'flow' ? r.flow : r.event);
  const f = line.flow;
  const [a, b] = sides(r);
  const time = hubbleTime(r.kind === 'flow' ? r.flow.time : r.event.time);
  const summary = f.Summary ?? hubbleSummary(f);
  const type = flowType(f);
  const verdict = f.verdict ?? 'VERDICT_UNKNOWN';
  const reply = f.is_reply === true;
  // Hubble prints a reply with the arrow reversed: destination <- source.
  const [left, right] = reply ? [b, a] : [a, b];
  const arrow = f.is_reply === undefined ? '<>' : reply ? '<-' : '->';
  const compact = `${time}: ${compactSide(left)} ${arrow} ${compactSide(right)} ${type} ${verdict}${summary ? ` (${summary})` : ''}`;
  return { line, row: { time, node: line.node_name, source: hostName(a), destination: hostName(b), type, verdict, summary }, compact };
}

const TABLE_HEADER: Row = {
  time: 'TIMESTAMP',
  node: 'NODE',
  source: 'SOURCE',
  destination: 'DESTINATION',
  type: 'TYPE',
  verdict: 'VERDICT',
  summary: 'SUMMARY',
};
const COLUMNS = ['time', 'source', 'destination', 'type', 'verdict', 'summary'] as const;

/** Columns padded to the widest cell plus three spaces, like Go's tabwriter in hubble. */
export function formatTable(rows: Row[], header: boolean): string[] {
  const all = header ? [TABLE_HEADER, ...rows] : rows;
  const widths = COLUMNS.map((c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) =>
    COLUMNS.map((c, i) => (i === COLUMNS.length - 1 ? r[c] : r[c].padEnd((widths[i] ?? 0) + 3)))
      .join('')
      .trimEnd(),
  );
}

export function formatDict(row: Row): string {
  const keys: [string, string][] = [
    ['TIMESTAMP', row.time],
    ['SOURCE', row.source],
    ['DESTINATION', row.destination],
    ['TYPE', row.type],
    ['VERDICT', row.verdict],
    ['SUMMARY', row.summary],
  ];
  return keys.map(([k, v]) => `${k.padStart(11)}: ${v}`).join('\n');
}

/** A printer that keeps what it needs between batches (the table header, dict separators). */
export function createPrinter(output: ObserveOutput, write: (text: string) => void) {
  let printed = 0;
  return (records: FilterRecord[]) => {
    if (!records.length) return;
    const described = records.map(describe);
    if (output === 'table') {
      write(
        `${formatTable(
          described.map((d) => d.row),
          printed === 0,
        ).join('\n')}\n`,
      );
    } else {
      for (const d of described) {
        if (output === 'compact') write(`${d.compact}\n`);
        else if (output === 'json') write(`${JSON.stringify(d.line.flow)}\n`);
        else if (output === 'jsonpb') write(`${JSON.stringify(d.line)}\n`);
        else write(`${printed > 0 ? '------------\n' : ''}${formatDict(d.row)}\n`);
        printed++;
      }
    }
    printed += output === 'table' ? records.length : 0;
  };
}
