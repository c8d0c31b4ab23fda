/**
 * Wire schema v2: the compact form of a batch's flows. A collector at tens of thousands of connections a
 * second sends two flows per connection, and in v1 each repeats its endpoints' whole identity (process,
 * cgroup path, service, workloads) and every field name: ~600–900 bytes of JSON per flow, which made
 * encoding it the collector's largest cost. v2 sends each distinct endpoint identity once per batch
 * (`endpoints`, referenced by index) and each flow as a positional row (`FLOW_ROW_FIELDS`): ~150–200 bytes.
 *
 * Wire schema v3 does the same for L7 events: their endpoints become `[ip, port, ref]` into the same table
 * (an HTTP exchange repeated both endpoints' identities: ~900 bytes of JSON per event, most of it identity).
 *
 * The server expands v2 and v3 into exactly the v1 model (`expandFlowRows`, `expandL7Rows`), so storage,
 * metrics and queries see one shape; the encoder is its inverse and the round trip is tested.
 */
import { z } from 'zod';
import { checkL7Details, CloseReason, Endpoint, EpochMs, L4Protocol, L7EventFields, markSanitized, TCP_FLAGS, TrafficDirection, Verdict, type Flow, type L7Event, type L7EventInput } from './flow';
import { isSanitized, marked, text } from './sanitize';

/**
 * An endpoint's identity shared by many flows — everything but its address. Collectors attach it to the
 * endpoints they build under this symbol key (copied by object spread, ignored by JSON), so the encoder
 * interns identities by reference instead of by content.
 */
export const ENDPOINT_IDENTITY: unique symbol = Symbol.for('sextant.endpointIdentity');

/** (Remembered as sanitized when its text had bytes replaced: the records built on it are marked.) */
export const EndpointIdentity = marked(Endpoint.omit({ ip: true, port: true }));
export type EndpointIdentity = z.infer<typeof EndpointIdentity>;

/** Distinct identities per batch; a batch of 20k flows between a few hundred processes needs a few hundred. */
export const MAX_BATCH_ENDPOINTS = 20_000;

const ip = z.union([z.ipv4(), z.ipv6()]);
const port = z.number().int().min(0).max(65535).nullable();
const ref = z.number().int().min(0).max(MAX_BATCH_ENDPOINTS - 1).nullable();
const counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const epochMs = EpochMs;
const TCP_FLAG_MASK_MAX = (1 << TCP_FLAGS.length) - 1;

/** Field order of a flow row (v2). Nullable fields are null when absent; refs index the batch's endpoints. */
export const FLOW_ROW_FIELDS = [
  'id', 'time', 'endTime', 'nodeName', 'final', 'verdict', 'dropReason', 'l4Protocol', 'ipVersion',
  'sourceIp', 'sourcePort', 'sourceRef', 'destinationIp', 'destinationPort', 'destinationRef',
  'tcpFlags', 'trafficDirection', 'isReply', 'bytesSent', 'bytesReceived', 'packetsSent', 'packetsReceived',
  'retransmits', 'srttUs', 'connectLatencyNs', 'closeReason', 'localPeer',
] as const;

export const FlowRow = marked(z.tuple([
  z.uuid(),
  epochMs,
  epochMs.nullable(),
  /** null: the batch's nodeName */
  text().max(253).nullable(),
  z.boolean(),
  Verdict,
  text().max(128).nullable(),
  L4Protocol,
  z.union([z.literal(4), z.literal(6)]),
  ip, port, ref,
  ip, port, ref,
  /** bit i = TCP_FLAGS[i] */
  z.number().int().min(0).max(TCP_FLAG_MASK_MAX),
  TrafficDirection,
  z.boolean(),
  counter, counter, counter, counter, counter,
  counter.nullable(),
  counter.nullable(),
  CloseReason,
  z.boolean(),
]));
export type FlowRow = z.infer<typeof FlowRow>;

/** v3: an L7 event's endpoint as a flow row carries it: address, port (null: none), identity ref (null: none). */
export const EndpointRef = z.tuple([ip, port, ref]);
export type EndpointRef = z.infer<typeof EndpointRef>;

/** v3: an L7 event with its endpoints as refs into the batch's endpoints. */
export const L7EventRow = marked(L7EventFields.extend({ source: EndpointRef, destination: EndpointRef }).superRefine(checkL7Details));
export type L7EventRow = z.infer<typeof L7EventRow>;
export type L7EventRowInput = z.input<typeof L7EventRow>;

const SOURCE_REF = FLOW_ROW_FIELDS.indexOf('sourceRef');
const DESTINATION_REF = FLOW_ROW_FIELDS.indexOf('destinationRef');

/** Issues for refs past the end of `endpoints`, with the row's path, for a schema's superRefine. */
export function checkEndpointRefs(rows: readonly FlowRow[], endpointCount: number, ctx: z.RefinementCtx, l7: readonly L7EventRow[] = []): void {
  const check = (r: number | null, path: (string | number)[], what: string) => {
    if (r !== null && r >= endpointCount) ctx.addIssue({ code: 'custom', path, message: `${what} ${r} is not an index of endpoints (${endpointCount} given)` });
  };
  for (let i = 0; i < rows.length; i++) {
    for (const at of [SOURCE_REF, DESTINATION_REF]) check(rows[i]![at] as number | null, ['flows', i, at], FLOW_ROW_FIELDS[at]!);
  }
  for (let i = 0; i < l7.length; i++) {
    for (const side of ['source', 'destination'] as const) check(l7[i]![side][2], ['l7', i, side, 2], `${side} ref`);
  }
}

function flagMask(flags: readonly string[]): number {
  let m = 0;
  for (const f of flags) m |= 1 << TCP_FLAGS.indexOf(f as (typeof TCP_FLAGS)[number]);
  return m;
}

function flagList(mask: number): Flow['tcpFlags'] {
  const out: Flow['tcpFlags'] = [];
  for (let i = 0; i < TCP_FLAGS.length; i++) if (mask & (1 << i)) out.push(TCP_FLAGS[i]!);
  return out;
}

const ADDRESS_KEYS = new Set(['ip', 'port']);

/**
 * A flow row as a collector builds it straight from kernel records: a FlowRow whose endpoint refs are still
 * the identity objects themselves (null: no identity), resolved to indices when its batch is encoded.
 */
export type PendingFlowRow = WithRefs<FlowRow, EndpointIdentity | null>;
// (generic, so that the mapping keeps the tuple a tuple; 11 and 14 are sourceRef and destinationRef, tested)
type WithRefs<Row, Ref> = { [K in keyof Row]: K extends '11' | '14' ? Ref : Row[K] };

/**
 * Encodes one batch's flows into v2 rows (and, for v3, its L7 events' endpoints into refs) and its endpoint
 * table: each distinct identity is sent once, interned by reference when tagged (or given as an identity
 * object), by content otherwise. Defaults of the v1 schema are applied, so expanding gives what parsing the
 * v1 flow would.
 */
export class BatchEncoder {
  readonly endpoints: EndpointIdentity[] = [];
  readonly rows: FlowRow[] = [];
  private readonly byRef = new Map<object, number>();
  private readonly byJson = new Map<string, number>();

  constructor(private readonly nodeName: string) {}

  /** A flow object (v1 shape). */
  addFlow(f: z.input<typeof Flow>): void {
    const s = f.source;
    const d = f.destination;
    this.rows.push([
      f.id, f.time, f.endTime ?? null, f.nodeName === this.nodeName ? null : f.nodeName, f.final ?? true, f.verdict, f.dropReason ?? null,
      f.l4Protocol, f.ipVersion,
      s.ip, s.port ?? null, this.refOf(s),
      d.ip, d.port ?? null, this.refOf(d),
      f.tcpFlags ? flagMask(f.tcpFlags) : 0, f.trafficDirection ?? 'TRAFFIC_DIRECTION_UNKNOWN', f.isReply ?? false,
      f.bytesSent ?? 0, f.bytesReceived ?? 0, f.packetsSent ?? 0, f.packetsReceived ?? 0, f.retransmits ?? 0,
      f.srttUs ?? null, f.connectLatencyNs ?? null, f.closeReason ?? 'NONE', f.localPeer ?? false,
    ]);
  }

  /**
   * A pending row, taken over: its identity slots are replaced by indices in place (no copy per flow), so the
   * caller must not use it afterwards.
   */
  addPending(p: PendingFlowRow): void {
    const row = p as unknown as FlowRow;
    if (p[3] === this.nodeName) row[3] = null;
    row[11] = p[11] === null ? null : this.identityRef(p[11]);
    row[14] = p[14] === null ? null : this.identityRef(p[14]);
    this.rows.push(row);
  }

  /** An L7 event with its endpoints as refs (v3). */
  l7(e: L7EventInput): L7EventRowInput {
    const s = e.source;
    const d = e.destination;
    return { ...e, source: [s.ip, s.port ?? null, this.refOf(s)], destination: [d.ip, d.port ?? null, this.refOf(d)] };
  }

  private identityRef(identity: EndpointIdentity): number {
    let r = this.byRef.get(identity);
    if (r === undefined) {
      r = this.endpoints.push(identity) - 1;
      this.byRef.set(identity, r);
    }
    return r;
  }

  private refOf(e: Endpoint & { [ENDPOINT_IDENTITY]?: EndpointIdentity }): number | null {
    const tagged = e[ENDPOINT_IDENTITY];
    if (tagged) return this.identityRef(tagged);
    // Built without a tag (remote peers, tests, imports): interned by content.
    let identity: Record<string, unknown> | undefined;
    for (const k of Object.keys(e)) {
      const v = (e as Record<string, unknown>)[k];
      if (ADDRESS_KEYS.has(k) || v === undefined) continue;
      (identity ??= {})[k] = v;
    }
    if (!identity) return null;
    const key = JSON.stringify(identity);
    let r = this.byJson.get(key);
    if (r === undefined) {
      r = this.endpoints.push(identity as EndpointIdentity) - 1;
      this.byJson.set(key, r);
    }
    return r;
  }
}

/** Flows (v1 objects, as the collector builds them) → the rows and endpoint table of a v2 batch. */
export function encodeFlowRows(flows: readonly z.input<typeof Flow>[], nodeName: string): { endpoints: EndpointIdentity[]; flows: FlowRow[] } {
  const encoder = new BatchEncoder(nodeName);
  for (const f of flows) encoder.addFlow(f);
  return { endpoints: encoder.endpoints, flows: encoder.rows };
}

function endpoint(ipAddr: string, p: number | null, identity: EndpointIdentity | undefined | null): Endpoint {
  const e: Endpoint = identity ? { ip: ipAddr, ...identity } : { ip: ipAddr };
  if (p !== null) e.port = p;
  return e;
}

function expandRow(row: FlowRow | PendingFlowRow, source: EndpointIdentity | undefined | null, destination: EndpointIdentity | undefined | null, nodeName: string): Flow {
  const [id, time, endTime, node, final, verdict, dropReason, l4Protocol, ipVersion, sIp, sPort, , dIp, dPort, , flags,
    trafficDirection, isReply, bytesSent, bytesReceived, packetsSent, packetsReceived, retransmits, srttUs, connectLatencyNs, closeReason,
    localPeer] = row;
  const f: Flow = {
    id, time, final, nodeName: node ?? nodeName, verdict, l4Protocol, ipVersion,
    source: endpoint(sIp, sPort, source), destination: endpoint(dIp, dPort, destination),
    tcpFlags: flagList(flags), trafficDirection, isReply, bytesSent, bytesReceived, packetsSent, packetsReceived, retransmits, closeReason,
    localPeer,
  };
  if (endTime !== null) f.endTime = endTime;
  if (dropReason !== null) f.dropReason = dropReason;
  if (srttUs !== null) f.srttUs = srttUs;
  if (connectLatencyNs !== null) f.connectLatencyNs = connectLatencyNs;
  if (isSanitized(row) || isSanitized(source) || isSanitized(destination)) markSanitized(f);
  return f;
}

/** v2 rows → v1 flows (refs already checked against `endpoints`). */
export function expandFlowRows(rows: readonly FlowRow[], endpoints: readonly EndpointIdentity[], nodeName: string): Flow[] {
  return rows.map((r) => expandRow(r, r[11] === null ? null : endpoints[r[11]], r[14] === null ? null : endpoints[r[14]], nodeName));
}

/** v3 L7 events → v1 L7 events, in place (they are the parser's own objects; refs already checked). */
export function expandL7Rows(events: L7EventRow[], endpoints: readonly EndpointIdentity[]): L7Event[] {
  for (const e of events) {
    const [s, d] = [e.source, e.destination];
    const out = e as unknown as L7Event;
    const [si, di] = [s[2] === null ? null : endpoints[s[2]], d[2] === null ? null : endpoints[d[2]]];
    out.source = endpoint(s[0], s[1], si);
    out.destination = endpoint(d[0], d[1], di);
    if (isSanitized(e) || isSanitized(si) || isSanitized(di)) markSanitized(out);
  }
  return events as unknown as L7Event[];
}

/** Pending rows → v1 flows (for a server that only takes v1, and for inspecting what a collector built). */
export function expandPendingRows(rows: readonly PendingFlowRow[], nodeName: string): Flow[] {
  return rows.map((r) => expandRow(r, r[11], r[14], nodeName));
}
