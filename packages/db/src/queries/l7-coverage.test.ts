/**
 * HTTP coverage on real PostgreSQL through the real ingest: kernel aggregates and records (sampled ones and
 * full-path ones) of a known mix, then exchanges counted vs records kept, by reason, exactly — overall, per
 * service, with and without Sextant's own services, leaving out DNS and what lies outside the window.
 */
import type { Endpoint, L7AggregateInput, L7Event, L7Sampling } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { storeRecords } from '../ingest/store-batch';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { l7Coverage } from './l7-coverage';

const MIN = 60_000;
const now = Math.floor(Date.now() / MIN) * MIN;
const t0 = now - 10 * MIN;
const window = { since: now - 30 * MIN, until: now };
const NS = 'shop';

const ep = (service: string, ip: string, port: number, labels?: string[]): Endpoint => ({
  ip,
  port,
  service,
  namespace: NS,
  ...(labels ? { labels } : {}),
});
const web = ep('web', '10.0.0.9', 40100);
const self = ep('sextant-web', '10.0.0.8', 40200, ['sextant:self']);
const orders = ep('orders-api', '10.0.0.2', 8080);
const payments = ep('payments', '10.0.0.3', 9000);
const dns = ep('coredns', '10.0.0.53', 53);

function record(source: Endpoint, destination: Endpoint, t: number, code: number, sampling?: L7Sampling): L7Event {
  return {
    id: crypto.randomUUID(),
    flowId: crypto.randomUUID(),
    time: t,
    nodeName: 'node-a',
    type: 'RESPONSE',
    protocol: 'http',
    latencyNs: 1_000_000,
    source,
    destination,
    http: { method: 'GET', url: '/x', path: '/x', protocol: 'HTTP/1.1', code, headers: [] },
    ...(sampling ? { sampling } : {}),
  };
}

function dnsRecord(t: number): L7Event {
  return {
    id: crypto.randomUUID(),
    flowId: crypto.randomUUID(),
    time: t,
    nodeName: 'node-a',
    type: 'RESPONSE',
    protocol: 'dns',
    latencyNs: 100_000,
    source: web,
    destination: dns,
    dns: { query: 'orders-api.shop.svc', qtypes: ['A'], rcode: 0, ips: ['10.0.0.2'], ttl: 30 },
  } as L7Event;
}

function aggregate(source: Endpoint, destination: Endpoint, t: number, method: string, code: number, count: number): L7AggregateInput {
  return {
    time: t,
    windowSeconds: 10,
    protocol: 'http',
    reporter: 'client',
    source,
    destination,
    method,
    code,
    count,
    latencySumNs: count * 1_000_000,
    idx: [],
    cnt: [],
  };
}

const times = (n: number, f: (k: number) => L7Event) => Array.from({ length: n }, (_, k) => f(k));

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  const collectorId = (await createCollectorToken(db.prisma, 'coverage')).collector.id;
  const l7: L7Event[] = [
    // web → orders-api: 1010 exchanges counted in the kernel; 25 of them kept as records, by reason ...
    ...times(7, (k) => record(web, orders, t0 + k, 503, 'error')),
    ...times(12, (k) => record(web, orders, t0 + k, 200, 'sampled')),
    ...times(2, (k) => record(web, orders, t0 + k, 200, 'slow')),
    ...times(4, (k) => record(web, orders, t0 + k, 200, 'capture')),
    // ... and 6 more on the full path (each record its exchange's only count).
    ...times(6, (k) => record(web, orders, t0 + k, 200)),
    // web → payments: 50 counted, 3 sampled.
    ...times(3, (k) => record(web, payments, t0 + k, 200, 'sampled')),
    // Sextant's own: 100 counted, 5 sampled.
    ...times(5, (k) => record(self, orders, t0 + k, 200, 'sampled')),
    // DNS: not HTTP.
    ...times(2, (k) => dnsRecord(t0 + k)),
    // Outside the window.
    record(web, orders, now - 40 * MIN, 200, 'sampled'),
  ];
  const l7Aggregates = [
    aggregate(web, orders, t0, 'GET', 200, 1000),
    aggregate(web, orders, t0, 'GET', 503, 7),
    aggregate(web, orders, t0, 'GET', 404, 3),
    aggregate(web, payments, t0, 'POST', 200, 50),
    aggregate(self, orders, t0, 'GET', 200, 100),
    aggregate(web, orders, now - 40 * MIN, 'GET', 200, 500),
  ];
  await storeRecords(db.pool, collectorId, { batchId: crypto.randomUUID(), sentAt: now, l7, l7Aggregates });
});
afterAll(async () => db?.close());

describe('l7Coverage', () => {
  it('counts every HTTP exchange from the rollups and the records kept, by reason, in the window', async () => {
    const c = await l7Coverage(db.pool, window);
    expect(c).toEqual({
      protocol: 'http',
      since: window.since,
      until: window.until,
      exchanges: 1010 + 6 + 50,
      records: 25 + 6 + 3,
      kept: { error: 7, slow: 2, capture: 4, sampled: 15, full: 6 },
    });
  });

  it('includes Sextant’s own services only when asked', async () => {
    const c = await l7Coverage(db.pool, { ...window, includeSelf: true });
    expect(c.exchanges).toBe(1166);
    expect(c.records).toBe(39);
    expect(c.kept.sampled).toBe(20);
  });

  it('narrows to one service at either end', async () => {
    const p = await l7Coverage(db.pool, { ...window, service: 'payments' });
    expect([p.exchanges, p.records, p.kept]).toEqual([50, 3, { error: 0, slow: 0, capture: 0, sampled: 3, full: 0 }]);
    const o = await l7Coverage(db.pool, { ...window, service: 'orders-api', namespace: NS });
    expect([o.exchanges, o.records, o.kept]).toEqual([1016, 31, { error: 7, slow: 2, capture: 4, sampled: 12, full: 6 }]);
    const w = await l7Coverage(db.pool, { ...window, service: 'web', namespace: 'elsewhere' });
    expect([w.exchanges, w.records]).toEqual([0, 0]);
  });

  it('reads a long window from the hour rollups with the same answer', async () => {
    const c = await l7Coverage(db.pool, { since: now - 24 * 60 * MIN, until: now });
    // The window now also holds the exchanges 40 minutes back (500 counted, 1 sampled record).
    expect([c.exchanges, c.records, c.kept.sampled]).toEqual([1566, 35, 16]);
  });
});
