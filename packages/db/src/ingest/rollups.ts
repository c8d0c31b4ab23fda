/**
 * Edge rollups: a batch is folded in memory into one row per (time bucket, source service, destination
 * service, protocol, status class), then upserted, so the service map and dashboards never scan raw rows.
 * Kernel latency histograms go to latency_minute the same way.
 */
import type { Flow, HistogramSample, IngestBatch, L7Event, StatusClass } from '@sextant/shared';
import {
  FLOW_IX,
  flowStatusClass,
  isSelfEndpoint,
  isErrorClass,
  l7AggregateStatusClass,
  l7StatusClass,
  mergeInto,
  recordValue,
  toSparse,
  type Histogram,
} from '@sextant/shared';
import type pg from 'pg';
import { keyedUpsert, KeyedRows, SERVICE_PAIR } from './keyed-upsert';
import { BatchEndpoints } from './rows';
import { servicePair, servicePairParts, servicePairPayload, type ServicePair } from './service-pair';

export interface EdgeRollup extends ServicePair {
  bucket: number;
  protocol: string;
  statusClass: StatusClass;
  requests: number;
  errors: number;
  bytesSent: number;
  bytesReceived: number;
  retransmits: number;
  latencySumNs: number;
  hist: Histogram;
  /** A side is one of Sextant's own processes (label sextant:self): its service is recorded as kind 'self'. */
  srcSelf?: boolean;
  dstSelf?: boolean;
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

function bucketOf(t: number, size: number): number {
  return Math.floor(t / size) * size;
}

/**
 * Folds a batch's final flows, L7 events and kernel L7 aggregates into edge rows for buckets of `bucketMs`,
 * reading rows as they came. Each exchange is counted once: by its aggregate, or by its record when it has no
 * `sampling` (the full path); a record with `sampling` is a sample of exchanges its aggregate counts.
 */
export function foldEdges(
  batch: Pick<IngestBatch, 'flows' | 'l7' | 'endpoints'> & Partial<Pick<IngestBatch, 'l7Aggregates'>>,
  bucketMs: number,
  ends = new BatchEndpoints(batch.endpoints),
): EdgeRollup[] {
  const rows = new KeyedRows<EdgeRollup>();
  const row = (
    t: number,
    sIp: string,
    sRef: number | null,
    dIp: string,
    dRef: number | null,
    protocol: string,
    statusClass: StatusClass,
  ) => {
    const bucket = bucketOf(t, bucketMs);
    const [s, d] = [ends.identity(sRef), ends.identity(dRef)];
    const pair = servicePair(s, sIp, d, dIp);
    const r = rows.get(bucket, [...servicePairParts(pair), protocol, statusClass], () => ({
      bucket,
      ...pair,
      protocol,
      statusClass,
      requests: 0,
      errors: 0,
      bytesSent: 0,
      bytesReceived: 0,
      retransmits: 0,
      latencySumNs: 0,
      hist: new Map(),
    }));
    // Sextant's own processes (label sextant:self): their services become kind 'self' (hidden on the map).
    if (!r.srcSelf && isSelfEndpoint(s)) r.srcSelf = true;
    if (!r.dstSelf && isSelfEndpoint(d)) r.dstSelf = true;
    return r;
  };
  const outcome = { verdict: 'FORWARDED' as Flow['verdict'], closeReason: 'NONE' as Flow['closeReason'] };
  for (const f of batch.flows) {
    // Interim reports of long-lived connections carry cumulative counters: count each connection once.
    if (!f[FLOW_IX.final]) continue;
    // A connection between two sockets of this node is reported from both ends: count its client side.
    if (f[FLOW_IX.localPeer] && f[FLOW_IX.trafficDirection] === 'INGRESS') continue;
    const [t, sIp, sRef, dIp, dRef] = [
      f[FLOW_IX.time],
      f[FLOW_IX.sourceIp],
      f[FLOW_IX.sourceRef],
      f[FLOW_IX.destinationIp],
      f[FLOW_IX.destinationRef],
    ];
    if (f[FLOW_IX.verdict] === 'DROPPED') {
      // A drop record aggregates dropped packets, not a connection: its own edge kind, all errors.
      const d = row(t, sIp, sRef, dIp, dRef, 'drop', 'error');
      d.requests += f[FLOW_IX.packetsSent];
      d.errors += f[FLOW_IX.packetsSent];
      continue;
    }
    outcome.verdict = f[FLOW_IX.verdict];
    outcome.closeReason = f[FLOW_IX.closeReason];
    const cls = flowStatusClass(outcome);
    const r = row(t, sIp, sRef, dIp, dRef, f[FLOW_IX.l4Protocol].toLowerCase(), cls);
    r.requests += 1;
    if (isErrorClass(cls)) r.errors += 1;
    r.bytesSent += f[FLOW_IX.bytesSent];
    r.bytesReceived += f[FLOW_IX.bytesReceived];
    r.retransmits += f[FLOW_IX.retransmits];
    const connectNs = f[FLOW_IX.connectLatencyNs];
    if (connectNs !== null) {
      r.latencySumNs += connectNs;
      recordValue(r.hist, connectNs);
    }
  }
  for (const e of batch.l7) {
    if (e.sampling !== undefined) continue;
    // (the class reads only the protocol's details, which a row has as an event does)
    const cls = l7StatusClass(e as unknown as L7Event);
    const r = row(e.time, e.source[0], e.source[2], e.destination[0], e.destination[2], e.protocol, cls);
    r.requests += 1;
    if (isErrorClass(cls)) r.errors += 1;
    r.bytesSent += e.http?.requestBytes ?? 0;
    r.bytesReceived += e.http?.responseBytes ?? 0;
    if (e.latencyNs !== undefined) {
      r.latencySumNs += e.latencyNs;
      recordValue(r.hist, e.latencyNs);
    }
  }
  for (const a of batch.l7Aggregates ?? []) {
    // (count 0 with bytes: the later response chunks of exchanges counted in an earlier window)
    if (a.count === 0 && !a.requestBytes && !a.responseBytes) continue;
    // The whole window counts in the bucket of its start (a window is seconds long, a bucket a minute or more).
    const cls = l7AggregateStatusClass(a);
    const r = row(a.time, a.source[0], a.source[2], a.destination[0], a.destination[2], a.protocol, cls);
    r.requests += a.count;
    if (isErrorClass(cls)) r.errors += a.count;
    r.bytesSent += a.requestBytes ?? 0;
    r.bytesReceived += a.responseBytes ?? 0;
    r.latencySumNs += a.latencySumNs;
    for (let k = 0; k < a.idx.length; k++) {
      const [i, c] = [a.idx[k]!, a.cnt[k]!];
      if (c > 0) r.hist.set(i, (r.hist.get(i) ?? 0) + c);
    }
  }
  return rows.sorted();
}

const edgeUpsert = (table: 'edge_minute' | 'edge_hour') =>
  keyedUpsert<EdgeRollup>({
    table,
    keys: [...SERVICE_PAIR, ['protocol', 'text'], ['status_class', 'text']],
    sums: [
      ['requests', 'bigint'],
      ['errors', 'bigint'],
      ['bytes_sent', 'bigint'],
      ['bytes_received', 'bigint'],
      ['retransmits', 'bigint'],
      ['latency_sum_ns', 'double precision'],
    ],
    hist: true,
    payload: (r) => {
      const { idx, cnt } = toSparse(r.hist);
      return {
        bucket: r.bucket,
        ...servicePairPayload(r),
        protocol: r.protocol,
        status_class: r.statusClass,
        requests: r.requests,
        errors: r.errors,
        bytes_sent: r.bytesSent,
        bytes_received: r.bytesReceived,
        retransmits: r.retransmits,
        latency_sum_ns: r.latencySumNs,
        hist_idx: idx,
        hist_cnt: cnt,
      };
    },
  });
const EDGE_UPSERTS = { edge_minute: edgeUpsert('edge_minute'), edge_hour: edgeUpsert('edge_hour') };

export async function upsertEdges(client: pg.PoolClient, table: 'edge_minute' | 'edge_hour', rows: EdgeRollup[]): Promise<void> {
  await EDGE_UPSERTS[table](client, rows);
}

export interface LatencyRollup extends ServicePair {
  bucket: number;
  kind: string;
  nodeName: string;
  hist: Histogram;
}

export function foldLatency(samples: readonly HistogramSample[]): LatencyRollup[] {
  const rows = new KeyedRows<LatencyRollup>();
  for (const s of samples) {
    const bucket = bucketOf(s.windowStart, MINUTE_MS);
    const parts = [s.kind, s.nodeName, s.sourceNamespace, s.sourceService, s.destinationNamespace, s.destinationService];
    const r = rows.get(bucket, parts, () => ({
      bucket,
      kind: s.kind,
      nodeName: s.nodeName,
      srcNamespace: s.sourceNamespace,
      srcService: s.sourceService,
      dstNamespace: s.destinationNamespace,
      dstService: s.destinationService,
      hist: new Map(),
    }));
    mergeInto(
      r.hist,
      s.idx.map((i, k) => [i, s.cnt[k] ?? 0] as [number, number]),
    );
  }
  return rows.sorted();
}

export const upsertLatency = keyedUpsert<LatencyRollup>({
  table: 'latency_minute',
  keys: [['kind', 'text'], ['node_name', 'text'], ...SERVICE_PAIR],
  sums: [['samples', 'bigint']],
  hist: true,
  payload: (r) => {
    const { idx, cnt } = toSparse(r.hist);
    return {
      bucket: r.bucket,
      kind: r.kind,
      node_name: r.nodeName,
      ...servicePairPayload(r),
      samples: cnt.reduce((a, b) => a + b, 0),
      hist_idx: idx,
      hist_cnt: cnt,
    };
  },
});

/** Marks the hours these minute rows fall in, for the maintenance job to (re)build their hour rollups. */
export async function markDirtyHours(client: pg.PoolClient, rows: readonly EdgeRollup[]): Promise<void> {
  const hours = [...new Set(rows.map((r) => bucketOf(r.bucket, HOUR_MS)))].sort((a, b) => a - b);
  if (hours.length === 0) return;
  await client.query(
    `INSERT INTO rollup_dirty_hours (hour) SELECT to_timestamp(h / 1000.0) FROM unnest($1::bigint[]) AS h ON CONFLICT (hour) DO NOTHING`,
    [hours],
  );
}

/** Records the service names seen in this batch (map nodes, filter autocomplete). */
export async function upsertServices(client: pg.PoolClient, rows: readonly EdgeRollup[]): Promise<void> {
  const seen = new Map<string, { namespace: string; name: string; lastSeen: number; self: boolean }>();
  for (const r of rows) {
    for (const [namespace, name, self] of [
      [r.srcNamespace, r.srcService, r.srcSelf],
      [r.dstNamespace, r.dstService, r.dstSelf],
    ] as const) {
      const k = `${namespace}|${name}`;
      const prev = seen.get(k);
      if (!prev || prev.lastSeen < r.bucket)
        seen.set(k, { namespace, name, lastSeen: r.bucket, self: self === true || prev?.self === true });
      else if (self) prev.self = true;
    }
  }
  if (seen.size === 0) return;
  const list = [...seen.values()].sort((a, b) => (a.namespace + a.name < b.namespace + b.name ? -1 : 1));
  // kind 'self': Sextant's own process (the map hides its edges unless includeSelf); once self, stays self.
  await client.query(
    `INSERT INTO services AS s (namespace, name, kind, first_seen, last_seen)
     SELECT r.namespace, r.name, CASE WHEN r.self THEN 'self' WHEN r.name = 'world' THEN 'world' ELSE 'service' END, to_timestamp(r.t / 1000.0), to_timestamp(r.t / 1000.0)
       FROM jsonb_to_recordset($1::jsonb) AS r(namespace text, name text, t bigint, self boolean)
     ON CONFLICT (namespace, name) DO UPDATE SET last_seen = greatest(s.last_seen, EXCLUDED.last_seen),
       kind = CASE WHEN EXCLUDED.kind = 'self' THEN 'self' ELSE s.kind END`,
    [JSON.stringify(list.map((s) => ({ namespace: s.namespace, name: s.name, t: s.lastSeen, self: s.self })))],
  );
}
