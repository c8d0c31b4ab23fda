/**
 * Turns flows / l7_events rows back into the wire model (packages/shared), so every reader (UI, CLI,
 * exports) sees the same shapes the collector sent.
 */
import type { Endpoint, Flow, L7Event } from '@sextant/shared';
import { tcpFlagsFromMask } from '../ingest/rows';
import type { EventTable } from './filter-sql';

export type Row = Record<string, unknown>;

/** One record of either table, as flows.search, flows.tail and flows.detail return it. */
export type FlowRecord = { kind: 'flow'; flow: Flow } | { kind: 'l7'; event: L7Event };

/**
 * A row of `table` read as JSON (to_jsonb of the table row) and its time in epoch microseconds: the record.
 * The one reader of search, tail and detail rows.
 */
export function recordFromRow(table: EventTable, tUs: number | string, row: Row): FlowRecord {
  const full = { ...row, t_us: tUs, end_us: row.end_time ? Date.parse(String(row.end_time)) * 1000 : null };
  return table === 'flows' ? { kind: 'flow', flow: flowFromRow(full) } : { kind: 'l7', event: l7FromRow(full) };
}

const str = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));

/** Epoch milliseconds (with microsecond fraction) from an epoch-microseconds column. */
export function msFromUs(us: unknown): number {
  return Number(us) / 1000;
}

/**
 * Epoch microseconds of a timestamptz as to_jsonb writes it (`2025-01-02T03:04:05.123456+00:00`).
 * Date.parse keeps whole milliseconds: an end time read that way fell up to 1 ms before a start time read
 * to the microsecond, and sub-millisecond records (refused connects, drops) showed negative durations.
 */
export function usFromTimestampText(text: string): number {
  const fraction = /T[^.+Z-]*\.(\d+)/.exec(text)?.[1] ?? '';
  return Date.parse(text) * 1000 + Number(fraction.slice(3, 6).padEnd(3, '0'));
}

function endpoint(r: Row, side: 'src' | 'dst'): Endpoint {
  const extra = (r[`${side}_extra`] ?? {}) as Record<string, unknown>;
  const { exe, ...rest } = extra as { exe?: string } & Record<string, unknown>;
  const e: Endpoint = { ...(rest as Partial<Endpoint>), ip: String(r[`${side}_ip`]) };
  const set = <K extends keyof Endpoint>(k: K, v: Endpoint[K] | undefined) => {
    if (v !== undefined) e[k] = v;
  };
  set('port', num(r[`${side}_port`]));
  set('service', str(r[`${side}_service`]));
  set('namespace', str(r[`${side}_namespace`]));
  set('podName', str(r[`${side}_pod`]));
  const names = r[`${side}_names`] as string[] | null;
  if (names?.length) e.names = names;
  const pname = str(r[`${side}_process`]);
  const pid = num(r[`${side}_pid`]);
  // No pid where none was stored (l7_events has no pid column): absent, not a made-up 0.
  if (pname !== undefined || pid !== undefined)
    e.process = { ...(pid !== undefined ? { pid } : {}), name: pname ?? '', ...(exe ? { exe } : {}) };
  return e;
}

export function flowFromRow(r: Row): Flow {
  const f: Flow = {
    id: String(r.flow_id),
    time: msFromUs(r.t_us),
    final: Boolean(r.final),
    nodeName: String(r.node_name),
    verdict: r.verdict as Flow['verdict'],
    l4Protocol: r.l4_protocol as Flow['l4Protocol'],
    ipVersion: Number(r.ip_version) === 6 ? 6 : 4,
    source: endpoint(r, 'src'),
    destination: endpoint(r, 'dst'),
    tcpFlags: tcpFlagsFromMask(Number(r.tcp_flags)),
    trafficDirection: r.traffic_direction as Flow['trafficDirection'],
    isReply: Boolean(r.is_reply),
    bytesSent: Number(r.bytes_sent),
    bytesReceived: Number(r.bytes_received),
    packetsSent: Number(r.packets_sent),
    packetsReceived: Number(r.packets_received),
    retransmits: Number(r.retransmits),
    closeReason: r.close_reason as Flow['closeReason'],
    localPeer: Boolean(r.local_peer),
  };
  // The row's own end_time text (to the microsecond) wins over an end_us a caller derived from it.
  const endUs = typeof r.end_time === 'string' ? usFromTimestampText(r.end_time) : r.end_us;
  if (endUs !== null && endUs !== undefined) f.endTime = msFromUs(endUs);
  if (r.drop_reason) f.dropReason = String(r.drop_reason);
  if (r.srtt_us !== null && r.srtt_us !== undefined) f.srttUs = Number(r.srtt_us);
  if (r.connect_latency_ns !== null && r.connect_latency_ns !== undefined) f.connectLatencyNs = Number(r.connect_latency_ns);
  if (r.l7_coverage) f.l7Coverage = r.l7_coverage as Flow['l7Coverage'];
  return f;
}

export function l7FromRow(r: Row): L7Event {
  const e = {
    id: String(r.event_id),
    flowId: String(r.flow_id),
    time: msFromUs(r.t_us),
    nodeName: String(r.node_name),
    type: r.type as L7Event['type'],
    protocol: r.protocol as L7Event['protocol'],
    source: endpoint(r, 'src'),
    destination: endpoint(r, 'dst'),
    [String(r.protocol)]: r.detail,
  } as L7Event;
  if (r.latency_ns !== null && r.latency_ns !== undefined) e.latencyNs = Number(r.latency_ns);
  if (r.sampling !== null && r.sampling !== undefined) e.sampling = r.sampling as L7Event['sampling'];
  if (r.tls !== null && r.tls !== undefined) e.tls = r.tls as L7Event['tls'];
  return e;
}
