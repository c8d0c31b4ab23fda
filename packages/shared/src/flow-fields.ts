/**
 * THE definition of a flow row: one table, read in order. Everything positional about a flow is derived
 * from it — the wire row (`FlowRow`, its tuple type and zod schema), the index names (`FLOW_IX.bytesSent`),
 * the encoder from flow objects and the decoder back (below), the collector's row builder (writes through
 * `FLOW_IX`), and the COPY column list and row writer of packages/db (ingest/rows.ts). A flow object field
 * that has no entry here (or the reverse) is a compile error (`_FlowFieldsMatchFlow`).
 *
 * `kind` says how a field travels (absent: as is):
 * - `time`: epoch milliseconds, stored as timestamptz;
 * - `node`: Flow.nodeName, null when it is the batch's nodeName;
 * - `flags`: Flow.tcpFlags as a bitmask (bit i = TCP_FLAGS[i]);
 * - `ip` / `port` / `ref`: Flow[side].ip, .port (null: none) and its identity as an index into the batch's
 *   endpoint table (null: none); a ref is stored as the identity's columns (`<column>_service`, …, db rows.ts).
 */
import { z } from 'zod';
import {
  CloseReason,
  EpochMs,
  FlowFields,
  L4Protocol,
  TCP_FLAGS,
  TrafficDirection,
  Verdict,
  type Endpoint,
  type Flow,
  type FlowInput,
} from './flow';
import { L7CoverageClass } from './l7-coverage';
import { text } from './sanitize';

/** Distinct identities per batch; a batch of 20k flows between a few hundred processes needs a few hundred. */
export const MAX_BATCH_ENDPOINTS = 20_000;

const ip = z.union([z.ipv4(), z.ipv6()]);
const port = z.number().int().min(0).max(65535).nullable();
const ref = z
  .number()
  .int()
  .min(0)
  .max(MAX_BATCH_ENDPOINTS - 1)
  .nullable();
/** bigint columns: a JS number is exact up to 2^53, well inside. */
const counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const TCP_FLAG_MASK_MAX = (1 << TCP_FLAGS.length) - 1;

export const FLOW_FIELDS = [
  { name: 'id', column: 'flow_id', schema: z.uuid() },
  { name: 'time', column: 'time', schema: EpochMs, kind: 'time' },
  { name: 'endTime', column: 'end_time', schema: EpochMs.nullable(), kind: 'time' },
  { name: 'nodeName', column: 'node_name', schema: text().max(253).nullable(), kind: 'node' },
  { name: 'final', column: 'final', schema: z.boolean() },
  { name: 'verdict', column: 'verdict', schema: Verdict },
  { name: 'dropReason', column: 'drop_reason', schema: text().max(128).nullable() },
  { name: 'l4Protocol', column: 'l4_protocol', schema: L4Protocol },
  { name: 'ipVersion', column: 'ip_version', schema: z.union([z.literal(4), z.literal(6)]) },
  { name: 'sourceIp', column: 'src_ip', schema: ip, kind: 'ip', side: 'source' },
  { name: 'sourcePort', column: 'src_port', schema: port, kind: 'port', side: 'source' },
  { name: 'sourceRef', column: 'src', schema: ref, kind: 'ref', side: 'source' },
  { name: 'destinationIp', column: 'dst_ip', schema: ip, kind: 'ip', side: 'destination' },
  { name: 'destinationPort', column: 'dst_port', schema: port, kind: 'port', side: 'destination' },
  { name: 'destinationRef', column: 'dst', schema: ref, kind: 'ref', side: 'destination' },
  { name: 'tcpFlags', column: 'tcp_flags', schema: z.number().int().min(0).max(TCP_FLAG_MASK_MAX), kind: 'flags' },
  { name: 'trafficDirection', column: 'traffic_direction', schema: TrafficDirection },
  { name: 'isReply', column: 'is_reply', schema: z.boolean() },
  { name: 'bytesSent', column: 'bytes_sent', schema: counter },
  { name: 'bytesReceived', column: 'bytes_received', schema: counter },
  { name: 'packetsSent', column: 'packets_sent', schema: counter },
  { name: 'packetsReceived', column: 'packets_received', schema: counter },
  { name: 'retransmits', column: 'retransmits', schema: counter },
  { name: 'srttUs', column: 'srtt_us', schema: counter.nullable() },
  { name: 'connectLatencyNs', column: 'connect_latency_ns', schema: counter.nullable() },
  { name: 'closeReason', column: 'close_reason', schema: CloseReason },
  { name: 'localPeer', column: 'local_peer', schema: z.boolean() },
  { name: 'l7Coverage', column: 'l7_coverage', schema: L7CoverageClass.nullable() },
] as const;

type Fields = typeof FLOW_FIELDS;
export type FlowField = Fields[number];
export type FlowFieldName = FlowField['name'];
export type FlowFieldKind = 'value' | 'time' | 'node' | 'flags' | 'ip' | 'port' | 'ref';
export const kindOf = (f: FlowField): FlowFieldKind => ('kind' in f ? f.kind : 'value');

// A mapped type over a generic tuple stays a tuple.
type RowOf<T extends readonly { schema: z.ZodType }[]> = { -readonly [K in keyof T]: z.output<T[K]['schema']> };
type IndexOf<T extends readonly { name: string }[]> = {
  readonly [K in keyof T as K extends `${number}` ? T[K]['name'] : never]: K extends `${infer I extends number}` ? I : never;
};

/** A flow as a row: the values of FLOW_FIELDS in order. */
export type FlowRowTuple = RowOf<Fields>;

/** Each field's position in a row, by name: `row[FLOW_IX.bytesSent]`. */
export const FLOW_IX = Object.freeze(Object.fromEntries(FLOW_FIELDS.map((f, i) => [f.name, i]))) as IndexOf<Fields>;

/** The row schema (not marked: wire-compact.ts wraps it). */
export const flowRowTuple = z.tuple(FLOW_FIELDS.map((f) => f.schema) as unknown as [z.ZodType, ...z.ZodType[]]) as unknown as z.ZodType<
  FlowRowTuple,
  FlowRowTuple
>;

// --- The table and the Flow object model agree (compile-time): same names, row value = object value, null for absent.
type Special = 'ip' | 'port' | 'ref' | 'flags' | 'node';
type PlainField = Exclude<FlowField, { kind: Special }>;
type ObjectValue<V> = undefined extends V ? Exclude<V, undefined> | null : V;
type FromTable = { [F in PlainField as F['name']]: z.output<F['schema']> };
type FromFlow = { [K in Exclude<keyof Flow, 'source' | 'destination' | 'tcpFlags' | 'nodeName'>]-?: ObjectValue<Flow[K]> };
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Fails to compile when flow.ts FlowFields and FLOW_FIELDS disagree: add the field to both. */
export const _FlowFieldsMatchFlow: Equal<FromTable, FromFlow> = true;

/** The value a row carries for a plain field the flow object leaves out: FlowFields' default, else null. */
const ABSENT: unknown[] = FLOW_FIELDS.map((f) => {
  if (kindOf(f) !== 'value' && kindOf(f) !== 'time') return null;
  const s = (FlowFields.shape as Record<string, z.ZodType>)[f.name];
  if (!s) throw new Error(`FLOW_FIELDS.${f.name} is not a field of FlowFields`);
  return s.safeParse(undefined).data ?? null;
});

export function tcpFlagMask(flags: readonly string[]): number {
  let m = 0;
  for (const f of flags) {
    const i = (TCP_FLAGS as readonly string[]).indexOf(f);
    if (i >= 0) m |= 1 << i;
  }
  return m;
}

export function tcpFlagList(mask: number): Flow['tcpFlags'] {
  const out: Flow['tcpFlags'] = [];
  for (let i = 0; i < TCP_FLAGS.length; i++) if (mask & (1 << i)) out.push(TCP_FLAGS[i]!);
  return out;
}

/**
 * A flow object → its row, with the Flow schema's defaults applied (so decoding gives what parsing the object
 * would). `refOf` turns an endpoint into its ref; a nodeName equal to `nodeName` becomes null.
 */
export function encodeFlow<R>(
  f: FlowInput,
  nodeName: string,
  refOf: (e: Endpoint) => R,
): { [K in keyof FlowRowTuple]: K extends `${typeof FLOW_IX.sourceRef | typeof FLOW_IX.destinationRef}` ? R : FlowRowTuple[K] } {
  const row = new Array<unknown>(FLOW_FIELDS.length);
  for (let i = 0; i < FLOW_FIELDS.length; i++) {
    const d = FLOW_FIELDS[i]!;
    switch (kindOf(d)) {
      case 'ip':
        row[i] = f[(d as { side: 'source' | 'destination' }).side].ip;
        break;
      case 'port':
        row[i] = f[(d as { side: 'source' | 'destination' }).side].port ?? null;
        break;
      case 'ref':
        row[i] = refOf(f[(d as { side: 'source' | 'destination' }).side]);
        break;
      case 'flags':
        row[i] = f.tcpFlags ? tcpFlagMask(f.tcpFlags) : 0;
        break;
      case 'node':
        row[i] = f.nodeName === nodeName ? null : f.nodeName;
        break;
      default:
        row[i] = (f as Record<string, unknown>)[d.name] ?? ABSENT[i];
    }
  }
  return row as never;
}

/** A row → its flow object (endpoints: address + identity; absent values left out, as the Flow schema does). */
export function decodeFlow(
  row: readonly unknown[],
  source: object | null | undefined,
  destination: object | null | undefined,
  nodeName: string,
): Flow {
  const f: Record<string, unknown> = {};
  for (let i = 0; i < FLOW_FIELDS.length; i++) {
    const d = FLOW_FIELDS[i]!;
    const v = row[i];
    switch (kindOf(d)) {
      case 'ip':
      case 'port':
      case 'ref':
        break;
      case 'flags':
        f.tcpFlags = tcpFlagList(v as number);
        break;
      case 'node':
        f.nodeName = v ?? nodeName;
        break;
      default:
        if (v !== null) f[d.name] = v;
    }
  }
  f.source = endpointFrom(row[FLOW_IX.sourceIp] as string, row[FLOW_IX.sourcePort] as number | null, source);
  f.destination = endpointFrom(row[FLOW_IX.destinationIp] as string, row[FLOW_IX.destinationPort] as number | null, destination);
  return f as Flow;
}

/** An endpoint from its address and identity (null port: none). */
export function endpointFrom(ipAddr: string, p: number | null, identity: object | null | undefined): Endpoint {
  const e = (identity ? { ip: ipAddr, ...identity } : { ip: ipAddr }) as Endpoint;
  if (p !== null) e.port = p;
  return e;
}
