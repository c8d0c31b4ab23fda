/**
 * Per-endpoint golden signals on real PostgreSQL through the real ingest: orders-api answers POST
 * /api/checkout 20 times (6 of them 502, all taking 801 ms) and GET /api/orders/{id} 10 times (2 ms), dnsmasq
 * answers 4 A and 1 AAAA queries (one SERVFAIL, one NXDOMAIN: an answer, not an error), a broker 3 Produce
 * requests to "orders" (one with an error code). Each endpoint's count, error % and percentiles are exact;
 * the checkout p50 is never below 801 ms (bucket upper bound).
 */
import type { L7Event } from '@sextant/shared';
import { bucketIndex, bucketReportValue } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { storeRecords } from '../ingest/store-batch';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { serviceEndpoints, serviceEndpointSignals } from './endpoints';

const MIN = 60_000;
let db: TestDatabase;
const now = Math.floor(Date.now() / MIN) * MIN;
const t0 = now - 10 * MIN;
const window = { since: now - 30 * MIN, until: now };
const client = { ip: '10.0.0.9', port: 40000, service: 'checkout-web', namespace: 'shop' };
const ep = (service: string, port: number) => ({ ip: '10.0.0.2', port, service, namespace: 'shop' });

let k = 0;
const base = (protocol: L7Event['protocol'], destination: ReturnType<typeof ep>, latencyNs: number) => ({
  id: crypto.randomUUID(),
  flowId: crypto.randomUUID(),
  time: t0 + k++,
  nodeName: 'node-a',
  type: 'RESPONSE' as const,
  protocol,
  latencyNs,
  source: client,
  destination,
});
const http = (method: string, path: string, pathTemplate: string, code: number, latencyNs: number): L7Event => ({
  ...base('http', ep('orders-api', 8080), latencyNs),
  http: { method, url: `http://orders-api${path}`, path, pathTemplate, protocol: 'HTTP/1.1', code, headers: [] },
});
const dns = (qtype: string, rcode: number): L7Event => ({
  ...base('dns', ep('dnsmasq', 53), 300_000),
  dns: { query: 'payments.shop.', qtypes: [qtype], rcode, ips: [], cnames: [], rrtypes: [], transport: 'udp' },
});
const kafka = (errorCode: number): L7Event => ({
  ...base('kafka', ep('broker', 9092), 5_000_000),
  kafka: { apiKey: 'Produce', apiVersion: 9, correlationId: k, topic: 'orders', errorCode },
});

const l7: L7Event[] = [
  ...Array.from({ length: 20 }, (_, i) => http('POST', '/api/checkout', '/api/checkout', i < 6 ? 502 : 200, 801_000_000)),
  ...Array.from({ length: 10 }, (_, i) => http('GET', `/api/orders/${1000 + i}`, '/api/orders/{id}', 200, 2_000_000)),
  dns('A', 0),
  dns('A', 0),
  dns('A', 3),
  dns('A', 2),
  dns('AAAA', 0),
  kafka(0),
  kafka(0),
  kafka(6),
];

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  const collectorId = (await createCollectorToken(db.prisma, 'ep')).collector.id;
  await storeRecords(db.pool, collectorId, { batchId: crypto.randomUUID(), sentAt: now, flows: [], l7, histograms: [] });
});
afterAll(async () => db?.close());

describe('per-endpoint golden signals', () => {
  it('HTTP: method + path template, exact counts and error %, percentiles as bucket upper bounds', async () => {
    const eps = await serviceEndpoints(db.pool, { ...window, service: 'orders-api', namespace: 'shop' });
    expect(eps.map((e) => [e.method, e.path, e.requests, e.errors])).toEqual([
      ['POST', '/api/checkout', 20, 6],
      ['GET', '/api/orders/{id}', 10, 0],
    ]);
    const checkout = eps[0];
    expect(checkout?.errorRatio).toBe(0.3);
    expect(checkout?.requestsPerSecond).toBeCloseTo(20 / 1800, 9);
    const upper = bucketReportValue(bucketIndex(801_000_000));
    expect([checkout?.p50Ns, checkout?.p95Ns, checkout?.p99Ns]).toEqual([upper, upper, upper]);
    expect(checkout?.p99Ns).toBeGreaterThanOrEqual(801_000_000);
    expect(eps[1]?.p95Ns).toBe(bucketReportValue(bucketIndex(2_000_000)));
    // Full path only: every exchange is a record, nothing is estimated.
    expect(eps.map((e) => [e.estimated, e.records, e.recordShare])).toEqual([
      [false, 20, 1],
      [false, 10, 1],
    ]);
    const all = await serviceEndpointSignals(db.pool, { ...window, service: 'orders-api', namespace: 'shop' });
    expect(all.http).toEqual({ ...window, exchanges: 30, records: 30, estimated: false });
  });

  it('DNS by query type (NXDOMAIN is an answer, SERVFAIL an error) and Kafka by topic + api key', async () => {
    const d = await serviceEndpoints(db.pool, { ...window, service: 'dnsmasq', namespace: 'shop' });
    expect(d.map((e) => [e.protocol, e.qtype, e.requests, e.errors])).toEqual([
      ['dns', 'A', 4, 1],
      ['dns', 'AAAA', 1, 0],
    ]);
    const kf = await serviceEndpoints(db.pool, { ...window, service: 'broker', namespace: 'shop' });
    expect(kf.map((e) => [e.protocol, e.topic, e.apiKey, e.requests, e.errors])).toEqual([['kafka', 'orders', 'Produce', 3, 1]]);
  });

  it('only the window and the service asked for', async () => {
    expect(await serviceEndpoints(db.pool, { since: now - 5 * MIN, until: now, service: 'orders-api', namespace: 'shop' })).toEqual([]);
    expect(await serviceEndpoints(db.pool, { ...window, service: 'orders-api', namespace: 'other' })).toEqual([]);
  });
});
