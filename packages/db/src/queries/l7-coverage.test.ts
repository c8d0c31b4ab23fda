/**
 * HTTP coverage on real PostgreSQL through the real ingest: kernel aggregates and records (sampled ones and
 * full-path ones) of a known mix, then exchanges counted vs records kept, by reason, exactly — overall, per
 * service, with and without Sextant's own services, leaving out DNS and what lies outside the window. Records are
 * counted from the per-minute rollup kept at ingest, or from l7_events before the rollup's epoch (records stored by
 * an older version): every answer is checked with the epoch before, inside and after the window.
 */
import type { Endpoint, L7AggregateInput, L7Event, L7Sampling } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { MIN, now, NS, shopEndpoint as ep, window } from '../fixtures/shop';
import { storeRecords } from '../ingest/store-batch';
import type { RecordBatch } from '@sextant/shared';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { l7Coverage } from './l7-coverage';

const t0 = now - 10 * MIN;

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
let collectorId = '';
let batch: RecordBatch<never, L7Event, never>;
/** Rollup epochs (minutes): before all data, inside the window (between records), after everything. */
const EPOCHS = [0, t0, t0 + MIN, now - 35 * MIN, now + 60 * MIN];

async function setEpoch(t: number): Promise<void> {
  await db.pool.query(`UPDATE rollup_epochs SET since = to_timestamp($1) WHERE name = 'l7_record_minute'`, [t / 1000]);
}

/** The same answer whichever epoch splits the window. */
async function coverage(input: Parameters<typeof l7Coverage>[1]): Promise<Awaited<ReturnType<typeof l7Coverage>>> {
  const answers = [];
  for (const t of EPOCHS) {
    await setEpoch(t);
    answers.push(await l7Coverage(db.pool, input));
  }
  for (const a of answers.slice(1)) expect(a).toEqual(answers[0]);
  return answers[0]!;
}

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  collectorId = (await createCollectorToken(db.prisma, 'coverage')).collector.id;
  const l7: L7Event[] = [
    // web → orders-api: 1010 exchanges counted in the kernel; 25 of them kept as records, by reason ...
    ...times(7, (k) => record(web, orders, t0 + k, 503, 'error')),
    ...times(12, (k) => record(web, orders, t0 + k, 200, 'sampled')),
    ...times(2, (k) => record(web, orders, t0 + k, 200, 'slow')),
    ...times(4, (k) => record(web, orders, t0 + k, 200, 'capture')),
    // ... and 6 more on the full path (each record its exchange's only count).
    ...times(6, (k) => record(web, orders, t0 + k, 200)),
    // web → payments: 50 counted, 3 sampled.
    ...times(3, (k) => record(web, payments, t0 + MIN + k, 200, 'sampled')),
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
  batch = { batchId: crypto.randomUUID(), sentAt: now, l7, l7Aggregates } as RecordBatch<never, L7Event, never>;
  await storeRecords(db.pool, collectorId, batch);
});
afterAll(async () => db?.close());

describe('l7Coverage', () => {
  it('counts every HTTP exchange from the rollups and the records kept, by reason, in the window', async () => {
    const c = await coverage(window);
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
    const c = await coverage({ ...window, includeSelf: true });
    expect(c.exchanges).toBe(1166);
    expect(c.records).toBe(39);
    expect(c.kept.sampled).toBe(20);
  });

  it('narrows to one service at either end', async () => {
    const p = await coverage({ ...window, service: 'payments' });
    expect([p.exchanges, p.records, p.kept]).toEqual([50, 3, { error: 0, slow: 0, capture: 0, sampled: 3, full: 0 }]);
    const o = await coverage({ ...window, service: 'orders-api', namespace: NS });
    expect([o.exchanges, o.records, o.kept]).toEqual([1016, 31, { error: 7, slow: 2, capture: 4, sampled: 12, full: 6 }]);
    const w = await coverage({ ...window, service: 'web', namespace: 'elsewhere' });
    expect([w.exchanges, w.records]).toEqual([0, 0]);
  });

  it('reads a long window from the hour rollups with the same answer', async () => {
    const c = await coverage({ since: now - 24 * 60 * MIN, until: now });
    // The window now also holds the exchanges 40 minutes back (500 counted, 1 sampled record).
    expect([c.exchanges, c.records, c.kept.sampled]).toEqual([1566, 35, 16]);
  });

  it('keeps records per minute, edge, protocol and reason at ingest, once per batch', async () => {
    const rows = async () =>
      (
        await db.pool.query<{ b: string; src: string; dst: string; protocol: string; sampling: string; n: string }>(
          `SELECT (extract(epoch FROM bucket) * 1000)::bigint AS b, src_service AS src, dst_service AS dst, protocol, sampling,
                  records AS n FROM l7_record_minute ORDER BY 1, 2, 3, 4, 5`,
        )
      ).rows.map((r) => [Number(r.b) - now, r.src, r.dst, r.protocol, r.sampling, Number(r.n)]);
    const expected = [
      [-40 * MIN, 'web', 'orders-api', 'http', 'sampled', 1],
      [-10 * MIN, 'sextant-web', 'orders-api', 'http', 'sampled', 5],
      [-10 * MIN, 'web', 'coredns', 'dns', '', 2],
      [-10 * MIN, 'web', 'orders-api', 'http', '', 6],
      [-10 * MIN, 'web', 'orders-api', 'http', 'capture', 4],
      [-10 * MIN, 'web', 'orders-api', 'http', 'error', 7],
      [-10 * MIN, 'web', 'orders-api', 'http', 'sampled', 12],
      [-10 * MIN, 'web', 'orders-api', 'http', 'slow', 2],
      [-9 * MIN, 'web', 'payments', 'http', 'sampled', 3],
    ];
    expect(await rows()).toEqual(expected);
    // The same batch again (a collector's retry) is acknowledged and adds nothing.
    expect((await storeRecords(db.pool, collectorId, batch)).stored).toBe(false);
    expect(await rows()).toEqual(expected);
  });
});
