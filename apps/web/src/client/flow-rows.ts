/** What the flow table shows for a record, and the JSON / CSV exports of a result set. */
import type { FlowRecord } from '@sextant/db';
import { flowStatusClass, l7StatusClass, l7Summary, statusTone, type Flow } from '@sextant/shared';

export interface RowView {
  id: string;
  flowId: string;
  time: number;
  source: string;
  destination: string;
  port: string;
  l7: string;
  verdict: string;
  latencyNs: number | null;
  /** How the outcome is shown (shared status vocabulary): errors red, NXDOMAIN amber. */
  tone: 'bad' | 'warn' | 'ok';
}

const name = (e: { service?: string; namespace?: string; names?: string[]; ip: string }) =>
  e.service ? (e.namespace ? `${e.namespace}/${e.service}` : e.service) : (e.names?.[0] ?? e.ip);

/** Connection outcomes worth a word in the table; a clean close says nothing. */
const CLOSE_WORDS: Partial<Record<Flow['closeReason'], string>> = {
  RESET: 'reset',
  CLIENT_RESET: 'client reset',
  REFUSED: 'refused',
  TIMEOUT: 'timeout',
};

export function rowView(r: FlowRecord): RowView {
  if (r.kind === 'flow') {
    const f = r.flow;
    return {
      id: f.id,
      flowId: f.id,
      time: f.time,
      source: name(f.source),
      destination: name(f.destination),
      port: `${f.destination.port ?? '–'}/${f.l4Protocol}`,
      l7: CLOSE_WORDS[f.closeReason] ?? '',
      verdict: f.verdict === 'DROPPED' ? `DROPPED ${f.dropReason ?? ''}`.trim() : f.verdict,
      latencyNs: f.connectLatencyNs ?? null,
      tone: statusTone(flowStatusClass(f)),
    };
  }
  const e = r.event;
  return {
    id: e.id,
    flowId: e.flowId,
    time: e.time,
    source: name(e.source),
    destination: name(e.destination),
    port: `${e.destination.port ?? '–'}/${e.protocol.toUpperCase()}`,
    l7: l7Summary(e),
    verdict: 'FORWARDED',
    latencyNs: e.latencyNs ?? null,
    tone: statusTone(l7StatusClass(e)),
  };
}

export const recordOf = (r: FlowRecord) => (r.kind === 'flow' ? r.flow : r.event);

/** One JSON object per line, as `hubble observe -o jsonpb` prints (here in Sextant's own shape). */
export function toNdjson(rows: FlowRecord[]): string {
  return rows.map((r) => JSON.stringify(recordOf(r))).join('\n') + (rows.length ? '\n' : '');
}

const CSV_COLUMNS = ['time', 'kind', 'id', 'flow_id', 'source', 'destination', 'port_protocol', 'l7', 'verdict', 'latency_ns'] as const;

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  // Quote anything with a separator, quote or newline; neutralise spreadsheet formulas.
  const safe = /^[=+\-@]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(rows: FlowRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    const v = rowView(r);
    lines.push(
      [new Date(v.time).toISOString(), r.kind, v.id, v.flowId, v.source, v.destination, v.port, v.l7, v.verdict, v.latencyNs]
        .map(csvCell)
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}
