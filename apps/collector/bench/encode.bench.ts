/**
 * What serializing a batch of flows costs the collector, per row, without a kernel: rows as the close workload
 * makes them (both ends of each connection on this host, ids from the collector's pool, sub-millisecond times)
 * through `prepareBatch` (wire schema 6, flows as columns written straight into the body: json-writer.ts), against
 * the same rows written as schema 5 did (JSON.stringify of ~64 KB slices of rows) and as schema 6 was first written
 * (the column arrays of encodeFlowColumns, then their JSON). Alternates them BENCH_ROUNDS times (default 3); per round the
 * minimum and median over 60 batches of BENCH_ROWS rows (default 2,000, the collector's default batch size).
 * `npx tsx apps/collector/bench/encode.bench.ts`
 */
import { BatchEncoder, encodeFlowColumns, FLOW_FIELDS, FLOW_IX, type EndpointIdentity, type PendingFlowRow } from '@sextant/shared';
import { prepareBatch } from '../src/services/prepared-batch';
import { recordId } from '../src/services/record-ids';

const N = Number(process.env.BENCH_ROWS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCHES = 60;
const client: EndpointIdentity = { hostName: 'node-a', process: { pid: 4242, name: 'wrk' }, cgroupId: '9001', service: 'wrk' };
const server: EndpointIdentity = { hostName: 'node-a', process: { pid: 77, name: 'nginx' }, cgroupId: '812', service: 'nginx' };

function row(i: number, t0: number): PendingFlowRow {
  const srv = i % 2 === 1;
  const t = t0 + Math.floor(i / 2) * 0.0371 + 0.000123;
  const values: Record<string, unknown> = {
    id: recordId(),
    time: t,
    endTime: t + 0.0521,
    nodeName: 'node-a',
    final: true,
    verdict: 'FORWARDED',
    dropReason: null,
    l4Protocol: 'TCP',
    ipVersion: 4,
    sourceIp: '127.0.0.1',
    sourcePort: 30_000 + (i >> 1),
    sourceRef: client,
    destinationIp: '127.0.0.1',
    destinationPort: 18_080,
    destinationRef: server,
    tcpFlags: 15,
    trafficDirection: srv ? 'INGRESS' : 'EGRESS',
    isReply: false,
    bytesSent: 80,
    bytesReceived: 160,
    packetsSent: 6,
    packetsReceived: 5,
    retransmits: 0,
    srttUs: 40 + (i % 7),
    connectLatencyNs: srv ? null : 50_000 + i,
    closeReason: 'CLOSED',
    localPeer: true,
    l7Coverage: srv ? null : 'cleartext',
  };
  const r = new Array<unknown>(FLOW_FIELDS.length);
  for (const f of FLOW_FIELDS) r[FLOW_IX[f.name]] = values[f.name];
  return r as PendingFlowRow;
}

/** Schema 5's flows: rows with identity refs, serialized a ~64 KB slice at a time. */
function asRows(rows: PendingFlowRow[]): number {
  const enc = new BatchEncoder('node-a');
  for (const r of rows) enc.addPending(r);
  let bytes = 0;
  for (let i = 0; i < enc.rows.length; i += 300) bytes += Buffer.from(JSON.stringify(enc.rows.slice(i, i + 300))).length;
  return bytes;
}

/** Schema 6 as the collector wrote it before json-writer.ts (26183ce): the column arrays (encodeFlowColumns), then each column's JSON, then its bytes. */
function asColumnArrays(rows: PendingFlowRow[]): number {
  const enc = new BatchEncoder('node-a');
  for (const r of rows) enc.addPending(r);
  const c = encodeFlowColumns(enc.rows);
  const parts = [
    Buffer.from(`{"endpoints":${JSON.stringify(enc.endpoints)},"flowColumns":{"rows":${c.rows},"timeBase":${c.timeBase},"columns":[`),
  ];
  c.columns.forEach((col, k) => {
    if (k > 0) parts.push(Buffer.from(','));
    if (!Array.isArray(col)) return void parts.push(Buffer.from(JSON.stringify(col)));
    for (let i = 0; i < col.length; i += 2_000) parts.push(Buffer.from(JSON.stringify(col.slice(i, i + 2_000))));
  });
  parts.push(Buffer.from(']}}'));
  return Buffer.concat(parts).length;
}

const asColumns = (rows: PendingFlowRow[]): number =>
  prepareBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), flows: [], flowRows: rows }, { nodeName: 'node-a' }).body.length;

for (let round = 0; round < ROUNDS; round++)
  for (const [name, encode] of [
    ['rows (schema 5)', asRows],
    ['column arrays (6)', asColumnArrays],
    ['columns (schema 6)', asColumns],
  ] as const) {
    const batches = Array.from({ length: BATCHES + 5 }, () => Array.from({ length: N }, (_, i) => row(i, Date.now())));
    const ns: number[] = [];
    let bytes = 0;
    batches.forEach((b, k) => {
      const t0 = process.hrtime.bigint();
      bytes = encode(b);
      if (k >= 5) ns.push(Number(process.hrtime.bigint() - t0)); // the first few warm up
    });
    ns.sort((a, b) => a - b);
    const per = (x: number) => `${(x / N).toFixed(0)} ns`;
    console.log(
      `${name.padEnd(20)} min ${per(ns[0]!)}, median ${per(ns[ns.length >> 1]!)} per row; ${(bytes / N).toFixed(1)} bytes per row`,
    );
  }
