/**
 * L7 decode coverage per workload on real PostgreSQL through the real ingest: generated connections of every
 * class between known workloads, with the rows a collector also sends (interim reports, the server side of a
 * same-node connection, connections with no class, Sextant's own, outside the window), then exact counts per
 * workload and class — every workload, one workload, with and without Sextant's own — and a replayed batch adds
 * nothing.
 */
import { L7_COVERAGE_CLASSES, type Flow, type L7CoverageClass, type Endpoint } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { MIN, now, NS, shopEndpoint as ep, window } from '../fixtures/shop';
import { storeRecords } from '../ingest/store-batch';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { workloadCoverage, type WorkloadCoverage } from './workload-coverage';

const web = ep('web', '10.0.0.9', 40100);
const orders = ep('orders-api', '10.0.0.2', 8080);
const legacy = ep('legacy-tls', '10.0.0.4', 8443);
const grpc = ep('grpc-gw', '10.0.0.5', 9090);
const self = ep('sextant-web', '10.0.0.8', 3000, ['sextant:self']);

let seq = 0;
function conn(src: Endpoint, dst: Endpoint, cls: L7CoverageClass | undefined, over: Partial<Flow> = {}): Flow {
  return {
    id: crypto.randomUUID(),
    time: now - 10 * MIN + (seq++ % 600) * 1000,
    final: true,
    nodeName: 'node-a',
    verdict: 'FORWARDED',
    l4Protocol: 'TCP',
    ipVersion: 4,
    source: src,
    destination: dst,
    tcpFlags: [],
    trafficDirection: 'EGRESS',
    isReply: false,
    bytesSent: 100,
    bytesReceived: 200,
    packetsSent: 1,
    packetsReceived: 1,
    retransmits: 0,
    closeReason: 'CLOSED',
    localPeer: false,
    ...(cls ? { l7Coverage: cls } : {}),
    ...over,
  };
}
const times = <T>(n: number, f: () => T): T[] => Array.from({ length: n }, f);

// Ground truth: connections per (client, server, class), each counted for both workloads.
const mix: [Endpoint, Endpoint, L7CoverageClass, number][] = [
  [web, orders, 'cleartext', 7],
  [web, orders, 'tls-node', 5],
  [web, legacy, 'tls-undecoded', 3],
  [web, legacy, 'tls-openssl', 2],
  [web, grpc, 'http2-undecodable', 4],
  [orders, grpc, 'unrecognized', 6],
];

let db: TestDatabase;
let collectorId: string;
let batchFlows: Flow[];
beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  collectorId = (await createCollectorToken(db.prisma, 'workload-coverage')).collector.id;
  batchFlows = [];
  for (const [s, d, cls, n] of mix) {
    for (let i = 0; i < n; i++) {
      // a same-node connection is reported from both ends: the client's row counts, the server's does not
      const local = i === 0;
      batchFlows.push(conn(s, d, cls, { localPeer: local }));
      if (local) batchFlows.push(conn(s, d, cls, { localPeer: true, trafficDirection: 'INGRESS' }));
    }
    batchFlows.push(conn(s, d, cls, { final: false })); // an interim report of a long-lived connection
  }
  batchFlows.push(...times(9, () => conn(web, orders, undefined))); // no payload: no class
  batchFlows.push(...times(4, () => conn(web, self, 'cleartext'))); // with Sextant's own server
  batchFlows.push(conn(web, orders, 'cleartext', { time: now - 40 * MIN })); // outside the window
  batchFlows.push({ ...conn(web, orders, undefined), l4Protocol: 'UDP' });
  await storeRecords(db.pool, collectorId, { batchId: crypto.randomUUID(), flows: batchFlows });
});
afterAll(async () => db?.close());

function expected(service: string, withSelf = false): Record<L7CoverageClass, number> {
  const out = Object.fromEntries(L7_COVERAGE_CLASSES.map((c) => [c, 0])) as Record<L7CoverageClass, number>;
  for (const [s, d, cls, n] of mix) if (s.service === service || d.service === service) out[cls] += n;
  if (withSelf && (service === 'web' || service === 'sextant-web')) out.cleartext += 4;
  return out;
}
const byName = (ws: WorkloadCoverage[]) => Object.fromEntries(ws.map((w) => [w.service, w]));

describe('L7 decode coverage per workload', () => {
  it('counts every workload exactly, by class, with decoded and total', async () => {
    const r = await workloadCoverage(db.pool, window);
    expect(r.since).toBe(window.since);
    const ws = byName(r.workloads);
    expect(Object.keys(ws).sort()).toEqual(['grpc-gw', 'legacy-tls', 'orders-api', 'web']);
    for (const name of Object.keys(ws)) {
      expect(ws[name]!.connections, name).toEqual(expected(name));
      expect(ws[name]!.namespace).toBe(NS);
    }
    expect(ws.web!.total).toBe(7 + 5 + 3 + 2 + 4);
    expect(ws.web!.decoded).toBe(7 + 5 + 2);
    expect(ws['legacy-tls']!.connections['tls-undecoded']).toBe(3);
    expect(ws['orders-api']!.decoded).toBe(12);
    expect(ws['grpc-gw']!.decoded).toBe(0);
    // most connections first
    expect(r.workloads.map((w) => w.service)).toEqual(['web', 'orders-api', 'grpc-gw', 'legacy-tls']);
  });

  it('one workload (the service panel), and Sextant’s own when asked', async () => {
    const one = await workloadCoverage(db.pool, { ...window, service: 'legacy-tls', namespace: NS });
    expect(one.workloads).toHaveLength(1);
    expect(one.workloads[0]!.connections).toEqual(expected('legacy-tls'));
    expect((await workloadCoverage(db.pool, { ...window, service: 'legacy-tls', namespace: 'other' })).workloads).toEqual([]);
    const withSelf = byName((await workloadCoverage(db.pool, { ...window, includeSelf: true })).workloads);
    expect(withSelf.web!.connections).toEqual(expected('web', true));
    expect(withSelf['sextant-web']!.connections).toEqual(expected('sextant-web', true));
  });

  it('stores the class on the connection row, and a replayed batch adds nothing', async () => {
    const rows = await db.pool.query<{ c: string | null; n: string }>(
      `SELECT l7_coverage AS c, count(*) AS n FROM flows GROUP BY 1 ORDER BY 1 NULLS LAST`,
    );
    const stored = Object.fromEntries(rows.rows.map((r) => [r.c ?? 'null', Number(r.n)]));
    // every row as sent: both ends of same-node connections and interim reports included
    const sent: Record<string, number> = {};
    for (const f of batchFlows) sent[f.l7Coverage ?? 'null'] = (sent[f.l7Coverage ?? 'null'] ?? 0) + 1;
    expect(stored).toEqual(sent);
    const before = await workloadCoverage(db.pool, window);
    const replay = await storeRecords(db.pool, collectorId, { batchId: crypto.randomUUID(), flows: [] });
    expect(replay.stored).toBe(true);
    const ids = await db.pool.query<{ batch_id: string }>(`SELECT batch_id FROM ingest_receipts WHERE flows > 0`);
    const again = await storeRecords(db.pool, collectorId, { batchId: ids.rows[0]!.batch_id, flows: batchFlows });
    expect(again.stored).toBe(false);
    expect(await workloadCoverage(db.pool, window)).toEqual(before);
  });
});
