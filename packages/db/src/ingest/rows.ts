/**
 * Mapping between the wire model (packages/shared) and the columns of the flows and l7_events tables.
 * The column lists here are the single definition used by COPY and by the readers.
 */
import type { Endpoint, Flow, L7Event } from '@sextant/shared';
import { TCP_FLAGS, l7StatusClass } from '@sextant/shared';
import { type CopyValue, isoTime } from './copy-text';

export const FLOW_COLUMNS = [
  'time', 'end_time', 'flow_id', 'collector_id', 'batch_id', 'node_name', 'final', 'verdict', 'drop_reason',
  'l4_protocol', 'ip_version', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'tcp_flags', 'traffic_direction',
  'is_reply', 'bytes_sent', 'bytes_received', 'packets_sent', 'packets_received', 'retransmits', 'srtt_us',
  'connect_latency_ns', 'close_reason',
  'src_service', 'src_namespace', 'src_pod', 'src_process', 'src_pid', 'src_names',
  'dst_service', 'dst_namespace', 'dst_pod', 'dst_process', 'dst_pid', 'dst_names',
  'src_extra', 'dst_extra', 'local_peer',
] as const;

export const L7_COLUMNS = [
  'time', 'event_id', 'flow_id', 'collector_id', 'batch_id', 'node_name', 'type', 'protocol', 'latency_ns',
  'src_ip', 'src_port', 'dst_ip', 'dst_port',
  'src_service', 'src_namespace', 'src_pod', 'src_process', 'src_names',
  'dst_service', 'dst_namespace', 'dst_pod', 'dst_process', 'dst_names',
  'http_method', 'http_path', 'http_code', 'dns_query', 'dns_rcode', 'kafka_api_key', 'kafka_topic',
  'kafka_error_code', 'status_class', 'detail', 'src_extra', 'dst_extra',
] as const;

export function tcpFlagsMask(flags: readonly string[]): number {
  let mask = 0;
  for (const f of flags) {
    const i = (TCP_FLAGS as readonly string[]).indexOf(f);
    if (i >= 0) mask |= 1 << i;
  }
  return mask;
}

export function tcpFlagsFromMask(mask: number): Flow['tcpFlags'] {
  return TCP_FLAGS.filter((_, i) => (mask & (1 << i)) !== 0);
}

/** The parts of an endpoint that have no column of their own. */
export function endpointExtra(e: Endpoint): Record<string, unknown> | null {
  const { ip: _ip, port: _port, service: _s, namespace: _n, podName: _p, names: _names, process, ...rest } = e;
  const extra: Record<string, unknown> = { ...rest };
  if (process?.exe) extra.exe = process.exe;
  for (const k of Object.keys(extra)) if (extra[k] === undefined) delete extra[k];
  return Object.keys(extra).length ? extra : null;
}

export interface RowContext {
  collectorId: string;
  batchId: string;
}

export function flowRow(f: Flow, ctx: RowContext): CopyValue[] {
  const s = f.source;
  const d = f.destination;
  return [
    isoTime(f.time), f.endTime === undefined ? null : isoTime(f.endTime), f.id, ctx.collectorId, ctx.batchId,
    f.nodeName, f.final, f.verdict, f.dropReason, f.l4Protocol, f.ipVersion, s.ip, s.port, d.ip, d.port,
    tcpFlagsMask(f.tcpFlags), f.trafficDirection, f.isReply, f.bytesSent, f.bytesReceived, f.packetsSent,
    f.packetsReceived, f.retransmits, f.srttUs, f.connectLatencyNs, f.closeReason,
    s.service, s.namespace, s.podName, s.process?.name, s.process?.pid, s.names,
    d.service, d.namespace, d.podName, d.process?.name, d.process?.pid, d.names,
    endpointExtra(s), endpointExtra(d), f.localPeer,
  ];
}

export function l7Row(e: L7Event, ctx: RowContext): CopyValue[] {
  const s = e.source;
  const d = e.destination;
  const detail = e.http ?? e.dns ?? e.kafka ?? {};
  return [
    isoTime(e.time), e.id, e.flowId, ctx.collectorId, ctx.batchId, e.nodeName, e.type, e.protocol, e.latencyNs,
    s.ip, s.port, d.ip, d.port,
    s.service, s.namespace, s.podName, s.process?.name, s.names,
    d.service, d.namespace, d.podName, d.process?.name, d.names,
    e.http?.method, e.http?.path, e.http?.code, e.dns?.query, e.dns?.rcode, e.kafka?.apiKey, e.kafka?.topic,
    e.kafka?.errorCode, l7StatusClass(e), detail, endpointExtra(s), endpointExtra(d),
  ];
}
