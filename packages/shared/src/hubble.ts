/**
 * Hubble interop: Sextant flows and L7 events as `hubble observe -o jsonpb` lines — a GetFlowsResponse
 * (`{"flow": {...}, "node_name", "time"}`) holding a Flow of cilium's api/v1/flow/flow.proto, written the
 * way protojson with proto field names writes it (`IP`, `l4.TCP.source_port`, `Type`, `is_reply`, enums by
 * name, 64-bit integers as strings, zero values left out, fields in declaration order) — and back.
 *
 * Hubble has no field for Sextant's byte/packet counters, TCP health, processes or the L4 ↔ L7 link: those
 * are not exported. Sextant has no numeric security identities: `ID`/`identity` are not imported. An L7
 * RESPONSE is written server → client with `is_reply: true` as Hubble does, and read back client → server.
 * This file: the jsonpb schema, times, ids and Sextant → Hubble; hubble-import.ts reads Hubble lines back.
 */
import { z } from 'zod';
import type { Endpoint, Flow, L4Protocol, L7Event, TcpFlag } from './flow';
import { L7_PROTOCOL_REGISTRY } from './l7-protocols';
import { compact } from './protocols/spec';

const uint = z.union([
  z.number().int().min(0),
  z
    .string()
    .regex(/^\d{1,20}$/)
    .transform(Number),
]);
const int = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d{1,11}$/)
    .transform(Number),
]);
const strs = z.array(z.string()).optional();

export const HubbleEndpoint = z.object({
  ID: uint.optional(),
  identity: uint.optional(),
  cluster_name: z.string().optional(),
  namespace: z.string().optional(),
  labels: strs,
  pod_name: z.string().optional(),
  workloads: z.array(z.object({ name: z.string(), kind: z.string().optional() })).optional(),
});
const Ports = z.object({ source_port: uint.optional(), destination_port: uint.optional() });
const Icmp = z.object({ type: uint.optional(), code: uint.optional() });
const HubbleService = z.object({ name: z.string(), namespace: z.string().optional() });

export const HubbleFlow = z.object({
  time: z.string().optional(),
  uuid: z.string().optional(),
  verdict: z.string().optional(),
  IP: z.object({ source: z.string().optional(), destination: z.string().optional(), ipVersion: z.string().optional() }).optional(),
  l4: z
    .object({
      TCP: Ports.extend({ flags: z.record(z.string(), z.boolean()).optional() }).optional(),
      UDP: Ports.optional(),
      ICMPv4: Icmp.optional(),
      ICMPv6: Icmp.optional(),
      SCTP: Ports.optional(),
    })
    .optional(),
  source: HubbleEndpoint.optional(),
  destination: HubbleEndpoint.optional(),
  Type: z.string().optional(),
  node_name: z.string().optional(),
  source_names: strs,
  destination_names: strs,
  l7: z
    .object({
      type: z.string().optional(),
      latency_ns: uint.optional(),
      dns: z
        .object({
          query: z.string().optional(),
          ips: strs,
          ttl: uint.optional(),
          cnames: strs,
          observation_source: z.string().optional(),
          rcode: uint.optional(),
          qtypes: strs,
          rrtypes: strs,
        })
        .optional(),
      http: z
        .object({
          code: uint.optional(),
          method: z.string().optional(),
          url: z.string().optional(),
          protocol: z.string().optional(),
          headers: z.array(z.object({ key: z.string(), value: z.string().optional() })).optional(),
        })
        .optional(),
      kafka: z
        .object({
          error_code: int.optional(),
          api_version: int.optional(),
          api_key: z.string().optional(),
          correlation_id: int.optional(),
          topic: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
  event_type: z.object({ type: int.optional(), sub_type: int.optional() }).optional(),
  source_service: HubbleService.optional(),
  destination_service: HubbleService.optional(),
  traffic_direction: z.string().optional(),
  drop_reason_desc: z.string().optional(),
  is_reply: z.boolean().optional(),
  Summary: z.string().optional(),
});
export type HubbleFlow = z.input<typeof HubbleFlow>;

/** One `hubble observe -o jsonpb` line. Lines of other response types (node_status, lost_events) are kept apart. */
export const HubbleLine = z.object({ flow: HubbleFlow.optional(), node_name: z.string().optional(), time: z.string().optional() }).loose();
export interface HubbleJsonLine {
  flow: HubbleFlow;
  node_name: string;
  time: string;
}

// ---------------------------------------------------------------- times

/** Epoch ms (fractions allowed) → RFC 3339 in UTC with 0, 3, 6 or 9 fraction digits, as protojson writes. */
export function toRfc3339(ms: number): string {
  const us = Math.round(ms * 1000);
  const sec = Math.floor(us / 1e6);
  const frac = us - sec * 1e6;
  const base = new Date(sec * 1000).toISOString().slice(0, 19);
  if (frac === 0) return `${base}Z`;
  const digits = String(frac).padStart(6, '0');
  return `${base}.${digits.endsWith('000') ? digits.slice(0, 3) : digits}Z`;
}

/** RFC 3339 → epoch ms, kept to the microsecond (the store's precision); NaN when unparseable. */
export function fromRfc3339(s: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(s);
  if (!m) return NaN;
  const sec = Date.parse(`${m[1]}${m[3]?.toUpperCase()}`);
  const us = Math.round(Number(`0.${m[2] ?? '0'}`) * 1e6);
  return sec + us / 1000;
}

// ---------------------------------------------------------------- ids

/** FNV-1a 128 of a string, shaped as a version-8 UUID: stable ids for records Hubble gave none. */
export function stableUuid(text: string): string {
  let h = 0x6c62272e07bb014262b821756295c58dn;
  const prime = 0x0000000001000000000000000000013bn;
  const mask = (1n << 128n) - 1n;
  for (const byte of new TextEncoder().encode(text)) h = ((h ^ BigInt(byte)) * prime) & mask;
  const hex = h.toString(16).padStart(32, '0').split('');
  hex[12] = '8';
  hex[16] = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

// ---------------------------------------------------------------- Sextant → Hubble

/** Cilium's monitor message types, as Hubble puts them in event_type. */
const EVENT_TYPE = { drop: 1, trace: 4, accessLog: 129 } as const;

type Out = Record<string, unknown>;

function endpointOut(e: Endpoint): Out {
  return compact({
    namespace: e.namespace,
    labels: e.labels,
    pod_name: e.podName,
    workloads: e.workloads?.map((w) => ({ name: w.name, kind: w.kind })),
  });
}

/** source_service is only written when it says more than the first workload's name already does. */
function serviceOut(e: Endpoint): Out | undefined {
  if (!e.service || e.service === e.workloads?.[0]?.name) return undefined;
  return compact({ name: e.service, namespace: e.namespace });
}

function l4Out(proto: L4Protocol, src: number | undefined, dst: number | undefined, flags: TcpFlag[]): Out {
  if (proto === 'ICMPv4' || proto === 'ICMPv6') return { [proto]: {} };
  const ports = compact({ source_port: src, destination_port: dst });
  if (proto === 'TCP' && flags.length) {
    // TCPFlags declares FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS in this order.
    const order: TcpFlag[] = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'];
    ports.flags = Object.fromEntries(order.filter((f) => flags.includes(f)).map((f) => [f, true]));
  }
  return { [proto]: ports };
}

const ipVersionOf = (ip: string) => (ip.includes(':') ? 'IPv6' : 'IPv4');

function l7Out(e: L7Event): Out {
  const out: Out = { type: e.type, latency_ns: e.latencyNs ? String(e.latencyNs) : undefined };
  const detail = L7_PROTOCOL_REGISTRY[e.protocol].toHubble?.(e);
  if (detail) out[e.protocol] = detail;
  return compact(out);
}

const isL7 = (r: Flow | L7Event): r is L7Event => 'flowId' in r;

/** A flow or L7 event as one `hubble observe -o jsonpb` response object. */
export function toHubbleJson(record: Flow | L7Event): HubbleJsonLine {
  const time = toRfc3339(record.time);
  let flow: Out;
  if (isL7(record)) {
    // Hubble reports a response from the server to the client.
    const reply = record.type === 'RESPONSE';
    const [src, dst] = reply ? [record.destination, record.source] : [record.source, record.destination];
    const transport: L4Protocol = record.protocol === 'dns' && (record.dns?.transport ?? 'udp') === 'udp' ? 'UDP' : 'TCP';
    flow = {
      time,
      uuid: record.id,
      verdict: 'FORWARDED',
      IP: { source: src.ip, destination: dst.ip, ipVersion: ipVersionOf(src.ip) },
      l4: l4Out(transport, src.port, dst.port, []),
      source: endpointOut(src),
      destination: endpointOut(dst),
      Type: 'L7',
      node_name: record.nodeName,
      source_names: src.names,
      destination_names: dst.names,
      l7: l7Out(record),
      event_type: { type: EVENT_TYPE.accessLog },
      source_service: serviceOut(src),
      destination_service: serviceOut(dst),
      is_reply: reply,
    };
  } else {
    const f = record;
    flow = {
      time,
      uuid: f.id,
      verdict: f.verdict === 'VERDICT_UNKNOWN' ? undefined : f.verdict,
      IP: { source: f.source.ip, destination: f.destination.ip, ipVersion: f.ipVersion === 6 ? 'IPv6' : 'IPv4' },
      l4: l4Out(f.l4Protocol, f.source.port, f.destination.port, f.tcpFlags),
      source: endpointOut(f.source),
      destination: endpointOut(f.destination),
      Type: 'L3_L4',
      node_name: f.nodeName,
      source_names: f.source.names,
      destination_names: f.destination.names,
      event_type: { type: f.verdict === 'DROPPED' ? EVENT_TYPE.drop : EVENT_TYPE.trace },
      source_service: serviceOut(f.source),
      destination_service: serviceOut(f.destination),
      traffic_direction: f.trafficDirection === 'TRAFFIC_DIRECTION_UNKNOWN' ? undefined : f.trafficDirection,
      drop_reason_desc: f.verdict === 'DROPPED' ? f.dropReason : undefined,
      is_reply: f.isReply,
    };
  }
  compact(flow);
  flow.Summary = hubbleSummary(flow as HubbleFlow);
  return { flow: flow as HubbleFlow, node_name: record.nodeName, time };
}

export function toHubbleJsonLine(record: Flow | L7Event): string {
  return JSON.stringify(toHubbleJson(record));
}

/** The human summary Hubble prints at the end of a line ("TCP Flags: SYN, ACK", "HTTP/1.1 GET http://…"). */
export function hubbleSummary(f: HubbleFlow): string {
  const l7 = f.l7;
  if (l7?.http) {
    const h = l7.http;
    const req = `${h.method ?? ''} ${h.url ?? ''}`;
    if (l7.type === 'RESPONSE')
      return `${h.protocol ?? 'HTTP/1.1'} ${Number(h.code ?? 0)} ${Math.round(Number(l7.latency_ns ?? 0) / 1e6)}ms (${req})`;
    return `${h.protocol ?? 'HTTP/1.1'} ${req}`;
  }
  if (l7?.dns) {
    const d = l7.dns;
    const q = `${d.query ?? ''} ${(d.qtypes ?? []).join(',')}`.trim();
    if (l7.type !== 'RESPONSE') return `DNS Query ${q}`;
    const rcode = Number(d.rcode ?? 0);
    const answer = rcode ? `RCode: ${rcode}` : `"${[...(d.cnames ?? []), ...(d.ips ?? [])].join(',')}" TTL: ${Number(d.ttl ?? 0)}`;
    return `DNS Answer ${answer} (Proxy ${q})`;
  }
  if (l7?.kafka) {
    const k = l7.kafka;
    const base = `Kafka ${l7.type === 'RESPONSE' ? 'response' : 'request'} ${k.api_key ?? ''} correlation id ${Number(k.correlation_id ?? 0)} topic '${k.topic ?? ''}'`;
    return l7.type === 'RESPONSE' ? `${base} return code ${Number(k.error_code ?? 0)}` : base;
  }
  const l4 = f.l4;
  if (l4?.TCP) {
    const flags = Object.entries(l4.TCP.flags ?? {})
      .filter(([, v]) => v)
      .map(([k]) => k);
    return flags.length ? `TCP Flags: ${flags.join(', ')}` : 'TCP';
  }
  if (l4?.UDP) return 'UDP';
  if (l4?.ICMPv4) return 'ICMPv4';
  if (l4?.ICMPv6) return 'ICMPv6';
  return '';
}
