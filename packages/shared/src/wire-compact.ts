/**
 * The compact form of a batch's records (the wire schema, wire.ts). A collector at tens of thousands of
 * connections a second sends two flows per connection; as objects each repeated its endpoints' whole identity
 * (process, cgroup path, service, workloads) and every field name: ~600–900 bytes of JSON per flow, which made
 * encoding it the collector's largest cost. So each distinct endpoint identity is sent once per batch
 * (`endpoints`, referenced by index) and each flow as a positional row (FLOW_FIELDS, flow-fields.ts): ~150–200
 * bytes. L7 events stay objects, their endpoints `[ip, port, ref]` into the same table (an HTTP exchange
 * repeated both endpoints' identities: ~900 bytes of JSON per event, most of it identity).
 *
 * The server stores rows as they come (packages/db ingest/rows.ts); `decodeFlowRows` / `decodeL7Rows` turn
 * them back into objects where objects are wanted (metrics, tests), the inverse of `BatchEncoder` (tested).
 */
import { z } from 'zod';
import {
  checkL7Details,
  Endpoint,
  EpochMs,
  L7EventFields,
  markSanitized,
  type Flow,
  type FlowInput,
  type L7Event,
  type L7EventInput,
} from './flow';
import { decodeFlow, encodeFlow, endpointFrom, FLOW_FIELDS, FLOW_IX, flowRowTuple, type FlowRowTuple } from './flow-fields';
import { HIST_NUM_BUCKETS } from './histogram';
import { L7_PROTOCOL_REGISTRY } from './l7-protocols';
import { isSanitized, marked, text } from './sanitize';
import type { StatusClass } from './status';

export { MAX_BATCH_ENDPOINTS } from './flow-fields';

/**
 * An endpoint's identity shared by many flows — everything but its address. Collectors attach it to the
 * endpoints they build under this symbol key (copied by object spread, ignored by JSON), so the encoder
 * interns identities by reference instead of by content.
 */
export const ENDPOINT_IDENTITY: unique symbol = Symbol.for('sextant.endpointIdentity');

/** (Remembered as sanitized when its text had bytes replaced: the records built on it are marked.) */
export const EndpointIdentity = marked(Endpoint.omit({ ip: true, port: true }));
export type EndpointIdentity = z.infer<typeof EndpointIdentity>;

/** A flow as a row (FLOW_FIELDS); a batch's sanitized rows are remembered (isSanitized). */
export const FlowRow = marked(flowRowTuple);
export type FlowRow = FlowRowTuple;

/** An L7 event's endpoint as a flow row carries it: address, port (null: none), identity ref (null: none). */
export const EndpointRef = z.tuple([
  FLOW_FIELDS[FLOW_IX.sourceIp].schema,
  FLOW_FIELDS[FLOW_IX.sourcePort].schema,
  FLOW_FIELDS[FLOW_IX.sourceRef].schema,
]);
export type EndpointRef = z.infer<typeof EndpointRef>;

/** An L7 event with its endpoints as refs into the batch's endpoints. */
export const L7EventRow = marked(L7EventFields.extend({ source: EndpointRef, destination: EndpointRef }).superRefine(checkL7Details));
export type L7EventRow = z.infer<typeof L7EventRow>;
export type L7EventRowInput = z.input<typeof L7EventRow>;

/** Protocols the kernel aggregates (docs/l7-line-rate.md): HTTP/1.x. DNS and Kafka stay on the full path. */
export const L7_AGGREGATE_PROTOCOLS = ['http'] as const;

const counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const bucketIndex = z
  .number()
  .int()
  .min(0)
  .max(HIST_NUM_BUCKETS - 1);
/**
 * An HTTP method is a token (RFC 9110): anything else (a NUL, a space) is a broken or hostile sender. Empty is
 * let through (a method the collector could not read), so one such row cannot get a whole batch refused.
 */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]*$/;

/**
 * The exchanges of one (reporter process side, endpoints, method, status code) over a window, counted in the
 * kernel instead of copied (docs/l7-line-rate.md). Not stored as rows: folded into the edge rollups and
 * Hubble's metrics (records of the same exchanges carry `sampling` and are not counted again).
 */
export const L7AggregateRow = z
  .object({
    /** Window start (epoch ms); the server counts the whole window in the minute that holds it. */
    time: EpochMs,
    windowSeconds: z.number().positive().max(3600),
    protocol: z.enum(L7_AGGREGATE_PROTOCOLS),
    /** The socket that counted: the client's (source) or the server's (destination). */
    reporter: z.enum(['client', 'server']),
    source: EndpointRef,
    destination: EndpointRef,
    method: text().max(32).regex(HTTP_TOKEN),
    /** Response status code. */
    code: z.number().int().min(0).max(999),
    count: counter,
    latencySumNs: counter,
    /**
     * Bytes the exchanges' requests and responses moved, as a record's http.requestBytes / responseBytes count them
     * (absent from collectors before 0.2: none). A row may have count 0 and bytes only: the later chunks of
     * responses whose exchanges were counted in an earlier window.
     */
    requestBytes: counter.optional(),
    responseBytes: counter.optional(),
    /** Decoded from TLS plaintext (as L7EventFields.tls); absent: cleartext on the wire. */
    tls: z.enum(['openssl', 'node']).optional(),
    /** Latency histogram (histogram.ts buckets), sparse: bucket indices and their counts. */
    idx: z.array(bucketIndex).max(HIST_NUM_BUCKETS),
    cnt: z.array(counter).max(HIST_NUM_BUCKETS),
  })
  .refine((a) => a.idx.length === a.cnt.length, { path: ['cnt'], message: 'idx and cnt must have the same length' });
export type L7AggregateRow = z.infer<typeof L7AggregateRow>;

/** An aggregate as a collector builds it: its endpoints as objects (tagged with ENDPOINT_IDENTITY or not). */
export type L7AggregateInput = Omit<z.input<typeof L7AggregateRow>, 'source' | 'destination'> & {
  source: Endpoint;
  destination: Endpoint;
};

/** An aggregate's status class: its protocol's rule in the registry, as for a record with that outcome. */
export function l7AggregateStatusClass(a: Pick<L7AggregateRow, 'protocol' | 'method' | 'code'>): StatusClass {
  const details = { http: { method: a.method, code: a.code } }[a.protocol];
  return L7_PROTOCOL_REGISTRY[a.protocol].statusClass({ protocol: a.protocol, [a.protocol]: details } as unknown as L7Event);
}

/** Issues for refs past the end of `endpoints`, with the row's path, for a schema's superRefine. */
export function checkEndpointRefs(
  rows: readonly FlowRow[],
  endpointCount: number,
  ctx: z.RefinementCtx,
  l7: readonly L7EventRow[] = [],
  l7Aggregates: readonly L7AggregateRow[] = [],
): void {
  const check = (r: number | null, path: (string | number)[], what: string) => {
    if (r !== null && r >= endpointCount)
      ctx.addIssue({ code: 'custom', path, message: `${what} ${r} is not an index of endpoints (${endpointCount} given)` });
  };
  for (let i = 0; i < rows.length; i++) {
    for (const at of [FLOW_IX.sourceRef, FLOW_IX.destinationRef]) check(rows[i]![at], ['flows', i, at], FLOW_FIELDS[at].name);
  }
  for (let i = 0; i < l7.length; i++) {
    for (const side of ['source', 'destination'] as const) check(l7[i]![side][2], ['l7', i, side, 2], `${side} ref`);
  }
  for (let i = 0; i < l7Aggregates.length; i++) {
    for (const side of ['source', 'destination'] as const) check(l7Aggregates[i]![side][2], ['l7Aggregates', i, side, 2], `${side} ref`);
  }
}

/**
 * A flow row as a collector builds it straight from kernel records: a FlowRow whose endpoint refs are still
 * the identity objects themselves (null: no identity), resolved to indices when its batch is encoded.
 */
export type PendingFlowRow = WithRefs<FlowRow, EndpointIdentity | null>;
// (generic, so that the mapping keeps the tuple a tuple)
type WithRefs<Row, Ref> = { [K in keyof Row]: K extends `${typeof FLOW_IX.sourceRef | typeof FLOW_IX.destinationRef}` ? Ref : Row[K] };

/**
 * Encodes one batch's flows into rows, its L7 events' endpoints into refs, and its endpoint table: each
 * distinct identity is sent once, interned by reference when tagged (or given as an identity object), by
 * content otherwise. The Flow schema's defaults are applied, so decoding gives what parsing the flow would.
 */
export class BatchEncoder {
  readonly endpoints: EndpointIdentity[] = [];
  readonly rows: FlowRow[] = [];
  private readonly byRef = new Map<object, number>();
  private readonly byJson = new Map<string, number>();
  private readonly ref = (e: Endpoint) => this.refOf(e);

  constructor(private readonly nodeName: string) {}

  /** A flow object. */
  addFlow(f: FlowInput): void {
    this.rows.push(encodeFlow(f, this.nodeName, this.ref));
  }

  /**
   * A pending row, taken over: its identity slots are replaced by indices in place (no copy per flow), so the
   * caller must not use it afterwards.
   */
  addPending(p: PendingFlowRow): void {
    const row = p as unknown as FlowRow;
    if (p[FLOW_IX.nodeName] === this.nodeName) row[FLOW_IX.nodeName] = null;
    const [s, d] = [p[FLOW_IX.sourceRef], p[FLOW_IX.destinationRef]];
    row[FLOW_IX.sourceRef] = s === null ? null : this.identityRef(s);
    row[FLOW_IX.destinationRef] = d === null ? null : this.identityRef(d);
    this.rows.push(row);
  }

  /** An L7 event with its endpoints as refs. */
  l7<E extends L7EventInput>(e: E): Omit<E, 'source' | 'destination'> & { source: EndpointRef; destination: EndpointRef } {
    const s = e.source;
    const d = e.destination;
    return { ...e, source: [s.ip, s.port ?? null, this.refOf(s)], destination: [d.ip, d.port ?? null, this.refOf(d)] };
  }

  /** A kernel aggregate with its endpoints as refs (they intern into the same table as flows and L7 events). */
  l7Aggregate(a: L7AggregateInput): z.input<typeof L7AggregateRow> {
    const s = a.source;
    const d = a.destination;
    return { ...a, source: [s.ip, s.port ?? null, this.refOf(s)], destination: [d.ip, d.port ?? null, this.refOf(d)] };
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
      if (k === 'ip' || k === 'port' || v === undefined) continue;
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

/** Flows (objects, as a collector builds some of them) → the rows and endpoint table of a batch. */
export function encodeFlowRows(flows: readonly FlowInput[], nodeName: string): { endpoints: EndpointIdentity[]; flows: FlowRow[] } {
  const encoder = new BatchEncoder(nodeName);
  for (const f of flows) encoder.addFlow(f);
  return { endpoints: encoder.endpoints, flows: encoder.rows };
}

/**
 * Whether a record is stored marked (SANITIZED_LABEL on its source): its own text or either endpoint
 * identity's had bytes replaced when parsed (refs already checked).
 */
export function isSanitizedRecord(
  own: object,
  source: number | null,
  destination: number | null,
  endpoints: readonly EndpointIdentity[],
): boolean {
  return (
    isSanitized(own) || (source !== null && isSanitized(endpoints[source])) || (destination !== null && isSanitized(endpoints[destination]))
  );
}

/** Records of a parsed batch stored marked (isSanitizedRecord). */
export function sanitizedRecords(b: {
  endpoints: readonly EndpointIdentity[];
  flows: readonly FlowRow[];
  l7: readonly L7EventRow[];
}): number {
  let n = 0;
  for (const r of b.flows) if (isSanitizedRecord(r, r[FLOW_IX.sourceRef], r[FLOW_IX.destinationRef], b.endpoints)) n++;
  for (const e of b.l7) if (isSanitizedRecord(e, e.source[2], e.destination[2], b.endpoints)) n++;
  return n;
}

/** Rows → flow objects (refs already checked against `endpoints`); sanitized rows and identities marked. */
export function decodeFlowRows(rows: readonly FlowRow[], endpoints: readonly EndpointIdentity[], nodeName: string): Flow[] {
  return rows.map((r) => {
    const [s, d] = [r[FLOW_IX.sourceRef], r[FLOW_IX.destinationRef]];
    const [si, di] = [s === null ? null : endpoints[s], d === null ? null : endpoints[d]];
    const f = decodeFlow(r, si, di, nodeName);
    if (isSanitizedRecord(r, s, d, endpoints)) markSanitized(f);
    return f;
  });
}

/** L7 event rows → L7 event objects (refs already checked); sanitized ones marked. */
export function decodeL7Rows(events: readonly L7EventRow[], endpoints: readonly EndpointIdentity[]): L7Event[] {
  return events.map((e) => {
    const [s, d] = [e.source, e.destination];
    const out = { ...e } as unknown as L7Event;
    out.source = endpointFrom(s[0], s[1], s[2] === null ? null : endpoints[s[2]]);
    out.destination = endpointFrom(d[0], d[1], d[2] === null ? null : endpoints[d[2]]);
    if (isSanitizedRecord(e, s[2], d[2], endpoints)) markSanitized(out);
    return out;
  });
}

/** An aggregate with its endpoints as objects (what Hubble's metrics label by). */
export type L7Aggregate = Omit<L7AggregateRow, 'source' | 'destination'> & { source: Endpoint; destination: Endpoint };

/** Aggregate rows → aggregates with endpoint objects (refs already checked), the inverse of `BatchEncoder.l7Aggregate`. */
export function decodeL7Aggregates(rows: readonly L7AggregateRow[], endpoints: readonly EndpointIdentity[]): L7Aggregate[] {
  return rows.map((a) => {
    const [s, d] = [a.source, a.destination];
    return {
      ...a,
      source: endpointFrom(s[0], s[1], s[2] === null ? null : endpoints[s[2]]),
      destination: endpointFrom(d[0], d[1], d[2] === null ? null : endpoints[d[2]]),
    };
  });
}
