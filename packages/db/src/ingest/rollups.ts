/**
 * Edge rollups: a batch is folded in memory into one row per (time bucket, source service, destination
 * service, protocol, status class), then upserted, so the service map and dashboards never scan raw rows.
 * Kernel latency histograms go to latency_minute the same way.
 */
import type { Flow, HistogramSample, IngestBatch, L7Event, StatusClass } from '@sextant/shared';
import {
  endpointServiceName,
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
import { BatchEndpoints } from './rows';

export interface EdgeRollup {
  bucket: number;
  srcNamespace: string;
  srcService: string;
  dstNamespace: string;
  dstService: string;
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
  const rows = new Map<string, EdgeRollup>();
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
    const srcNamespace = s.namespace ?? '';
    const srcService = endpointServiceName({ ip: sIp, service: s.service, names: s.names });
    const dstNamespace = d.namespace ?? '';
    const dstService = endpointServiceName({ ip: dIp, service: d.service, names: d.names });
    const key = `${bucket}|${srcNamespace}|${srcService}|${dstNamespace}|${dstService}|${protocol}|${statusClass}`;
    let r = rows.get(key);
    if (!r) {
      r = {
        bucket,
        srcNamespace,
        srcService,
        dstNamespace,
        dstService,
        protocol,
        statusClass,
        requests: 0,
        errors: 0,
        bytesSent: 0,
        bytesReceived: 0,
        retransmits: 0,
        latencySumNs: 0,
        hist: new Map(),
      };
      rows.set(key, r);
    }
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
    if (a.count === 0) continue;
    // The whole window counts in the bucket of its start (a window is seconds long, a bucket a minute or more).
    const cls = l7AggregateStatusClass(a);
    const r = row(a.time, a.source[0], a.source[2], a.destination[0], a.destination[2], a.protocol, cls);
    r.requests += a.count;
    if (isErrorClass(cls)) r.errors += a.count;
    r.latencySumNs += a.latencySumNs;
    for (let k = 0; k < a.idx.length; k++) {
      const [i, c] = [a.idx[k]!, a.cnt[k]!];
      if (c > 0) r.hist.set(i, (r.hist.get(i) ?? 0) + c);
    }
  }
  return sortByKey(
    [...rows.values()],
    (r) => `${r.srcNamespace}|${r.srcService}|${r.dstNamespace}|${r.dstService}|${r.protocol}|${r.statusClass}`,
  );
}

// Concurrent batches upsert rows in one global key order, so they cannot deadlock on each other.
function sortByKey<T extends { bucket: number }>(rows: T[], key: (r: T) => string): T[] {
  const keyed = rows.map((r) => ({ r, k: `${String(r.bucket).padStart(15, '0')}|${key(r)}` }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.r);
}

const EDGE_UPSERT = (table: 'edge_minute' | 'edge_hour') => `
  INSERT INTO ${table} AS t (bucket, src_namespace, src_service, dst_namespace, dst_service, protocol, status_class,
                             requests, errors, bytes_sent, bytes_received, retransmits, latency_sum_ns, hist_idx, hist_cnt)
  SELECT to_timestamp(r.bucket / 1000.0), r.src_namespace, r.src_service, r.dst_namespace, r.dst_service, r.protocol,
         r.status_class, r.requests, r.errors, r.bytes_sent, r.bytes_received, r.retransmits, r.latency_sum_ns,
         r.hist_idx, r.hist_cnt
    FROM jsonb_to_recordset($1::jsonb) AS r(bucket bigint, src_namespace text, src_service text, dst_namespace text,
         dst_service text, protocol text, status_class text, requests bigint, errors bigint, bytes_sent bigint,
         bytes_received bigint, retransmits bigint, latency_sum_ns double precision, hist_idx smallint[], hist_cnt bigint[])
  ON CONFLICT (bucket, src_namespace, src_service, dst_namespace, dst_service, protocol, status_class) DO UPDATE SET
    requests = t.requests + EXCLUDED.requests,
    errors = t.errors + EXCLUDED.errors,
    bytes_sent = t.bytes_sent + EXCLUDED.bytes_sent,
    bytes_received = t.bytes_received + EXCLUDED.bytes_received,
    retransmits = t.retransmits + EXCLUDED.retransmits,
    latency_sum_ns = t.latency_sum_ns + EXCLUDED.latency_sum_ns,
    (hist_idx, hist_cnt) = (SELECT m.idx, m.cnt FROM sextant_hist_merge(t.hist_idx, t.hist_cnt, EXCLUDED.hist_idx, EXCLUDED.hist_cnt) m)`;

export async function upsertEdges(client: pg.PoolClient, table: 'edge_minute' | 'edge_hour', rows: EdgeRollup[]): Promise<void> {
  if (rows.length === 0) return;
  const payload = rows.map((r) => {
    const { idx, cnt } = toSparse(r.hist);
    return {
      bucket: r.bucket,
      src_namespace: r.srcNamespace,
      src_service: r.srcService,
      dst_namespace: r.dstNamespace,
      dst_service: r.dstService,
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
  });
  await client.query(EDGE_UPSERT(table), [JSON.stringify(payload)]);
}

export interface LatencyRollup {
  bucket: number;
  kind: string;
  nodeName: string;
  srcNamespace: string;
  srcService: string;
  dstNamespace: string;
  dstService: string;
  hist: Histogram;
}

export function foldLatency(samples: readonly HistogramSample[]): LatencyRollup[] {
  const rows = new Map<string, LatencyRollup>();
  for (const s of samples) {
    const bucket = bucketOf(s.windowStart, MINUTE_MS);
    const key = `${bucket}|${s.kind}|${s.nodeName}|${s.sourceNamespace}|${s.sourceService}|${s.destinationNamespace}|${s.destinationService}`;
    let r = rows.get(key);
    if (!r) {
      r = {
        bucket,
        kind: s.kind,
        nodeName: s.nodeName,
        srcNamespace: s.sourceNamespace,
        srcService: s.sourceService,
        dstNamespace: s.destinationNamespace,
        dstService: s.destinationService,
        hist: new Map(),
      };
      rows.set(key, r);
    }
    mergeInto(
      r.hist,
      s.idx.map((i, k) => [i, s.cnt[k] ?? 0] as [number, number]),
    );
  }
  return sortByKey(
    [...rows.values()],
    (r) => `${r.kind}|${r.nodeName}|${r.srcNamespace}|${r.srcService}|${r.dstNamespace}|${r.dstService}`,
  );
}

export async function upsertLatency(client: pg.PoolClient, rows: LatencyRollup[]): Promise<void> {
  if (rows.length === 0) return;
  const payload = rows.map((r) => {
    const { idx, cnt } = toSparse(r.hist);
    return {
      bucket: r.bucket,
      kind: r.kind,
      node_name: r.nodeName,
      src_namespace: r.srcNamespace,
      src_service: r.srcService,
      dst_namespace: r.dstNamespace,
      dst_service: r.dstService,
      samples: cnt.reduce((a, b) => a + b, 0),
      hist_idx: idx,
      hist_cnt: cnt,
    };
  });
  await client.query(
    `INSERT INTO latency_minute AS t (bucket, kind, node_name, src_namespace, src_service, dst_namespace, dst_service, samples, hist_idx, hist_cnt)
     SELECT to_timestamp(r.bucket / 1000.0), r.kind, r.node_name, r.src_namespace, r.src_service, r.dst_namespace, r.dst_service, r.samples, r.hist_idx, r.hist_cnt
       FROM jsonb_to_recordset($1::jsonb) AS r(bucket bigint, kind text, node_name text, src_namespace text, src_service text,
            dst_namespace text, dst_service text, samples bigint, hist_idx smallint[], hist_cnt bigint[])
     ON CONFLICT (bucket, kind, node_name, src_namespace, src_service, dst_namespace, dst_service) DO UPDATE SET
       samples = t.samples + EXCLUDED.samples,
       (hist_idx, hist_cnt) = (SELECT m.idx, m.cnt FROM sextant_hist_merge(t.hist_idx, t.hist_cnt, EXCLUDED.hist_idx, EXCLUDED.hist_cnt) m)`,
    [JSON.stringify(payload)],
  );
}

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
