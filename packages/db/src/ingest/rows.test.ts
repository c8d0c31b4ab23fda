/**
 * The row definition end to end, through the real database: random flows → the wire batch (encodeBatch) → JSON →
 * the ingest schema → COPY text (rows.ts) → PostgreSQL, then every stored column compared with the flow it came
 * from. The expected columns below are written out by hand, field by field: a table entry that names the wrong
 * column (two counters swapped, say) fails here even though encoder, decoder and writer all agree with it.
 */
import {
  CLOSE_REASONS,
  encodeBatch,
  FLOW_FIELDS,
  IngestBatch,
  L4_PROTOCOLS,
  TCP_FLAGS,
  TRAFFIC_DIRECTIONS,
  VERDICTS,
  type Flow,
  type FlowInput,
} from '@sextant/shared';
import { Flow as FlowSchema, L7_COVERAGE_CLASSES } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { mulberry32 } from '../fixtures/generate-traffic';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { FLOW_COLUMNS } from './rows';
import { storeBatch } from './store-batch';

let db: TestDatabase;
let collectorId: string;
beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  collectorId = (await createCollectorToken(db.prisma, 'rows-test')).collector.id;
});
afterAll(async () => db?.close());

const rand = mulberry32(20261205);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const maybe = <T>(v: T): T | undefined => (rand() < 0.5 ? v : undefined);
const big = () => Math.floor(rand() * Number.MAX_SAFE_INTEGER);
// Text COPY must escape (tab, newline, backslash, quotes in arrays) and text beyond ASCII.
const WORDS = ['checkout', 'a\tb', 'line\nbreak', 'back\\slash', 'quo"te', 'dienst-ü', '服务', 'x y', "it's"];
const word = () => `${pick(WORDS)}-${int(1000)}`;

const IDENTITIES = Array.from({ length: 12 }, () => ({
  service: maybe(word()),
  namespace: maybe(word()),
  podName: maybe(word()),
  names: maybe([word(), word()]),
  labels: maybe([word()]),
  workloads: maybe([{ name: word(), kind: 'Deployment' as const }]),
  process: maybe({ pid: int(4_194_304), name: word(), exe: maybe(`/usr/bin/${word()}`) }),
  cgroupId: maybe(String(big())),
  cgroupPath: maybe(`/system.slice/${word()}`),
  containerId: maybe(word()),
  hostName: maybe(word()),
}));

function endpoint(v6: boolean): FlowInput['source'] {
  const ip = v6 ? `fd00::${(1 + int(0xfffe)).toString(16)}` : `10.${int(256)}.${int(256)}.${int(256)}`;
  return { ip, ...maybe({ port: int(65536) }), ...(rand() < 0.8 ? pick(IDENTITIES) : {}) };
}

function randomFlow(now: number): FlowInput {
  const v6 = rand() < 0.3;
  const time = now - int(3_600_000) - int(1000) / 1000;
  return {
    id: crypto.randomUUID(),
    time,
    endTime: maybe(time + int(100_000) / 1000),
    nodeName: pick(['node-a', 'node-a', 'node\tb', word()]),
    final: rand() < 0.8,
    verdict: pick(VERDICTS),
    dropReason: maybe(word()),
    l4Protocol: pick(L4_PROTOCOLS),
    ipVersion: v6 ? 6 : 4,
    source: endpoint(v6),
    destination: endpoint(v6),
    tcpFlags: TCP_FLAGS.filter(() => rand() < 0.4),
    trafficDirection: pick(TRAFFIC_DIRECTIONS),
    isReply: rand() < 0.5,
    bytesSent: big(),
    bytesReceived: big(),
    packetsSent: big(),
    packetsReceived: big(),
    retransmits: big(),
    srttUs: maybe(big()),
    connectLatencyNs: maybe(big()),
    closeReason: pick(CLOSE_REASONS),
    localPeer: rand() < 0.5,
    l7Coverage: maybe(pick(L7_COVERAGE_CLASSES)),
  };
}

const us = (ms: number | undefined) => (ms === undefined ? null : String(Math.round(ms * 1000)));

function side(e: Flow['source'], pid: boolean) {
  const { ip: _ip, port: _port, service, namespace, podName, names, process, ...rest } = e;
  const extra: Record<string, unknown> = JSON.parse(JSON.stringify({ ...rest, exe: process?.exe }));
  return {
    service: service ?? null,
    namespace: namespace ?? null,
    pod: podName ?? null,
    process: process?.name ?? null,
    ...(pid ? { pid: process?.pid ?? null } : {}),
    names: names?.length ? names : null,
    extra: Object.keys(extra).length ? extra : null,
  };
}

/** What each flows column must hold for a flow: written out, not derived from FLOW_FIELDS. */
function expectedColumns(f: Flow, batchId: string): Record<string, unknown> {
  const prefixed = (p: string, o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}_${k}`, v]));
  let mask = 0;
  for (const flag of f.tcpFlags) mask |= 1 << TCP_FLAGS.indexOf(flag);
  return {
    collector_id: collectorId,
    batch_id: batchId,
    flow_id: f.id,
    time: us(f.time),
    end_time: us(f.endTime),
    node_name: f.nodeName,
    final: f.final,
    verdict: f.verdict,
    drop_reason: f.dropReason ?? null,
    l4_protocol: f.l4Protocol,
    ip_version: f.ipVersion,
    src_ip: f.source.ip,
    src_port: f.source.port ?? null,
    dst_ip: f.destination.ip,
    dst_port: f.destination.port ?? null,
    tcp_flags: mask,
    traffic_direction: f.trafficDirection,
    is_reply: f.isReply,
    // (bigint columns come back as numbers: the pool's int8 parser; every counter here is below 2^53)
    bytes_sent: f.bytesSent,
    bytes_received: f.bytesReceived,
    packets_sent: f.packetsSent,
    packets_received: f.packetsReceived,
    retransmits: f.retransmits,
    srtt_us: f.srttUs ?? null,
    connect_latency_ns: f.connectLatencyNs ?? null,
    close_reason: f.closeReason,
    local_peer: f.localPeer,
    l7_coverage: f.l7Coverage ?? null,
    ...prefixed('src', side(f.source, true)),
    ...prefixed('dst', side(f.destination, true)),
  };
}

describe('flow rows from the wire to PostgreSQL', () => {
  it('store every field of random flows exactly, column by column (property test, 400 flows)', async () => {
    const now = Date.now();
    const flows = Array.from({ length: 400 }, () => randomFlow(now));
    const batchId = crypto.randomUUID();
    const wire = JSON.parse(JSON.stringify(encodeBatch({ batchId, sentAt: now, nodeName: 'node-a', flows })));
    expect((await storeBatch(db.pool, collectorId, IngestBatch.parse(wire))).stored).toBe(true);
    const times = FLOW_COLUMNS.map((c) =>
      c === 'time' || c === 'end_time'
        ? `(extract(epoch FROM ${c}) * 1000000)::bigint::text AS ${c}`
        : c === 'src_ip' || c === 'dst_ip'
          ? `host(${c}) AS ${c}`
          : c,
    );
    const stored = new Map(
      (await db.pool.query(`SELECT ${times.join(', ')} FROM flows WHERE batch_id = $1`, [batchId])).rows.map((r) => [
        r.flow_id as string,
        r,
      ]),
    );
    expect(stored.size).toBe(400);
    for (const input of flows) {
      const expected = expectedColumns(FlowSchema.parse(input), batchId);
      // every column the writer fills is one the oracle names, and the reverse
      expect(Object.keys(expected).sort()).toEqual([...FLOW_COLUMNS].sort());
      expect(stored.get(input.id)).toEqual(expected);
    }
  });

  it("a field written to another field's column is caught (the oracle is independent of FLOW_FIELDS)", () => {
    const f = FlowSchema.parse(randomFlow(Date.now()));
    const swapped = { ...f, bytesSent: f.bytesReceived, bytesReceived: f.bytesSent };
    expect(expectedColumns(swapped, 'b')).not.toEqual(expectedColumns(f, 'b'));
    // and each counter column has its own field
    const counters = FLOW_FIELDS.filter((d) =>
      ['bytesSent', 'bytesReceived', 'packetsSent', 'packetsReceived', 'retransmits'].includes(d.name),
    ).map((d) => d.column);
    expect(counters).toEqual(['bytes_sent', 'bytes_received', 'packets_sent', 'packets_received', 'retransmits']);
  });
});
