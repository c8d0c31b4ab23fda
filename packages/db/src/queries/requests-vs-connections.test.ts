/**
 * Requests are not connections, on real PostgreSQL through the real ingest: orders-api receives
 * N = 40 HTTP requests (k = 5 of them 5xx) from a caller reusing M = 4 connections, 10 requests from a caller
 * opening one connection per request, and 2 refused connects from a third caller. Its requests are the 50
 * HTTP exchanges (not 50 + 16 connections), its error ratio 5 / 50 (not 7 / 66), its connections 16 (2
 * failed), each shown on its own; the map has one edge per pair with every protocol on it, http first.
 */
import type { Flow, L7Event } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { MIN, now, NS, shopEndpoint as ep, window } from '../fixtures/shop';
import { storeRecords } from '../ingest/store-batch';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { topTalkers } from './panels';
import { serviceMap } from './service-map';
import { timeSeries } from './time-series';

let db: TestDatabase;
const start = now - 20 * MIN;

const api = ep('orders-api', '10.0.0.2', 8080);

function connection(client: string, t: number, bytes: number, closeReason: Flow['closeReason'] = 'CLOSED'): Flow {
  return {
    id: crypto.randomUUID(),
    time: t,
    endTime: t + 50,
    final: true,
    nodeName: 'node-a',
    verdict: 'FORWARDED',
    l4Protocol: 'TCP',
    ipVersion: 4,
    source: ep(client, '10.0.0.9', 40000 + (t % 20000)),
    destination: api,
    tcpFlags: ['SYN', 'ACK', 'FIN'],
    trafficDirection: 'EGRESS',
    isReply: false,
    bytesSent: bytes,
    bytesReceived: bytes,
    packetsSent: 4,
    packetsReceived: 4,
    retransmits: 0,
    connectLatencyNs: 100_000,
    closeReason,
    localPeer: false,
  };
}

function request(conn: Flow, t: number, code: number): L7Event {
  return {
    id: crypto.randomUUID(),
    flowId: conn.id,
    time: t,
    nodeName: 'node-a',
    type: 'RESPONSE',
    protocol: 'http',
    latencyNs: 2_000_000,
    source: conn.source,
    destination: conn.destination,
    http: {
      method: 'POST',
      url: 'http://orders-api/api/checkout',
      path: '/api/checkout',
      pathTemplate: '/api/checkout',
      host: 'orders-api',
      protocol: 'HTTP/1.1',
      code,
      headers: [],
      requestBytes: 100,
      responseBytes: 200,
    },
  };
}

const flows: Flow[] = [];
const l7: L7Event[] = [];
// The reusing caller: 40 requests over 4 connections, 5 of them 502.
for (let c = 0; c < 4; c++) {
  const conn = connection('checkout-web', start + c * 1000, 3000);
  flows.push(conn);
  for (let k = 0; k < 10; k++) l7.push(request(conn, conn.time + k, c * 10 + k < 5 ? 502 : 200));
}
// One connection per request: 10 of each.
for (let c = 0; c < 10; c++) {
  const conn = connection('batch-job', start + MIN + c * 1000, 300);
  flows.push(conn);
  l7.push(request(conn, conn.time + 1, 200));
}
// Two refused connects (no L7).
for (let c = 0; c < 2; c++) flows.push(connection('cron', start + 2 * MIN + c, 0, 'REFUSED'));

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  const collectorId = (await createCollectorToken(db.prisma, 'rvc')).collector.id;
  await storeRecords(db.pool, collectorId, { batchId: crypto.randomUUID(), sentAt: now, flows, l7, histograms: [] });
});
afterAll(async () => db?.close());

describe('requests are not connections', () => {
  it('service map: node requests and errors from L7, connections on their own', async () => {
    const map = await serviceMap(db.pool, window);
    const node = map.nodes.find((n) => n.id === `${NS}/orders-api`);
    expect(node).toMatchObject({ requestsIn: 50, errorsIn: 5, connectionsIn: 16, connectionErrorsIn: 2 });
    expect((node?.errorsIn ?? 0) / (node?.requestsIn ?? 1)).toBe(0.1);
    expect(node?.failureRatio).toBe(0.1);
    const caller = map.nodes.find((n) => n.id === `${NS}/batch-job`);
    // One connection per request does not double the requests.
    expect(caller).toMatchObject({ requestsOut: 10, connectionsOut: 10 });
  });

  it('service map: one edge per pair listing every protocol, http first', async () => {
    const map = await serviceMap(db.pool, window);
    expect(map.edges).toHaveLength(3);
    const edge = map.edges.find((e) => e.source === `${NS}/checkout-web`);
    expect(edge).toMatchObject({
      id: `${NS}/checkout-web->${NS}/orders-api`,
      kind: 'requests',
      protocol: 'http+tcp',
      requests: 40,
      errors: 5,
      errorRatio: 0.125,
      connections: 4,
      connectionErrors: 0,
      failureRatio: 0.125,
    });
    expect(edge?.protocols.map((p) => [p.protocol, p.kind, p.count, p.errors])).toEqual([
      ['http', 'requests', 40, 5],
      ['tcp', 'connections', 4, 0],
    ]);
    // Bytes once: the connections carry the HTTP payloads.
    expect(edge?.bytesSent).toBe(4 * 3000);
    // Request latency is the HTTP exchanges' (2 ms), not mixed with connect latency (0.1 ms).
    expect(edge?.p50Ns).toBeGreaterThanOrEqual(2_000_000);
    const refused = map.edges.find((e) => e.source === `${NS}/cron`);
    expect(refused).toMatchObject({
      kind: 'connections',
      requests: 0,
      errors: 0,
      connections: 2,
      connectionErrors: 2,
      failureRatio: 1,
      p95Ns: null,
    });
    const errorsOnly = await serviceMap(db.pool, { ...window, errorsOnly: true });
    expect(errorsOnly.edges.map((e) => e.source).sort()).toEqual([`${NS}/checkout-web`, `${NS}/cron`]);
  });

  it('time series: requests and errors from L7, connections per step on their own', async () => {
    const ts = await timeSeries(db.pool, { ...window, stepSeconds: 60, service: 'orders-api', namespace: NS, direction: 'inbound' }, now);
    const total = (k: 'requests' | 'errors' | 'connections' | 'connectionErrors') => ts.points.reduce((a, p) => a + (p[k] ?? 0), 0);
    expect([total('requests'), total('errors'), total('connections'), total('connectionErrors')]).toEqual([50, 5, 16, 2]);
    const at = (t: number) => ts.points.find((p) => p.time === t);
    expect(at(start)).toMatchObject({ requests: 40, errors: 5, errorRatio: 0.125, connections: 4, bytes: 4 * 6000 });
    expect(at(start + MIN)).toMatchObject({ requests: 10, connections: 10, errorRatio: 0 });
    // Only refused connects in this step: connections, but no requests (a gap, not 0 % errors).
    expect(at(start + 2 * MIN)).toMatchObject({ requests: null, errorRatio: null, p95Ns: null, connections: 2, connectionErrors: 2 });
  });

  it('top talkers: requests on the L7 row, connections on the tcp row', async () => {
    const talkers = await topTalkers(db.pool, { ...window, service: 'orders-api', namespace: NS });
    const of = (src: string, proto: string) => talkers.find((t) => t.source === `${NS}/${src}` && t.protocol === proto);
    expect(of('checkout-web', 'http')).toMatchObject({ requests: 40, connections: 0 });
    expect(of('checkout-web', 'tcp')).toMatchObject({ requests: 0, connections: 4 });
    expect(of('batch-job', 'tcp')).toMatchObject({ requests: 0, connections: 10 });
  });
});
