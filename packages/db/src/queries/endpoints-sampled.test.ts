/**
 * Per-endpoint signals when HTTP records are a sample (docs/l7-line-rate.md), on real PostgreSQL through the
 * real ingest (encodeBatch → storeBatch with kernel aggregates). The kernel counts every exchange by method and
 * status; records say which path. Counts are weighted per status class so the endpoints add up to the rollups
 * exactly, errors stay exact (every 5xx is kept), and percentiles are weighted so the kept slow exchanges do
 * not pull p95 up. Full-path data (no sampling) gives what the unweighted query (count, percentile_disc) gave.
 */
import {
  bucketIndex,
  bucketReportValue,
  encodeBatch,
  IngestBatch,
  recordValue,
  toSparse,
  type Histogram,
  type L7AggregateInput,
  type L7EventInput,
  type L7Sampling,
} from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { storeBatch } from '../ingest/store-batch';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { serviceEndpointSignals } from './endpoints';

const MIN = 60_000;
const now = Math.floor(Date.now() / MIN) * MIN;
const t = now - 3 * MIN;
const window = { since: now - 10 * MIN, until: now };
let db: TestDatabase;
let collectorId: string;

const client = { ip: '10.2.0.1', service: 'web', namespace: 'shop' };
const server = (service: string) => ({ ip: '10.2.0.2', port: 8080, service, namespace: 'shop' });

/** One aggregate row of `latencies` (all one method and status), histogram and sum exact. */
function aggregate(dst: string, code: number, latencies: number[]): L7AggregateInput {
  const h: Histogram = new Map();
  for (const v of latencies) recordValue(h, v);
  return {
    time: t + 1_000,
    windowSeconds: 10,
    protocol: 'http',
    reporter: 'server',
    source: client,
    destination: server(dst),
    method: 'GET',
    code,
    count: latencies.length,
    latencySumNs: latencies.reduce((a, b) => a + b, 0),
    ...toSparse(h),
  };
}

let k = 0;
function record(dst: string, path: string, code: number, latencyNs: number, sampling?: L7Sampling): L7EventInput {
  return {
    id: crypto.randomUUID(),
    flowId: crypto.randomUUID(),
    time: t + 2_000 + k++,
    nodeName: 'node-a',
    protocol: 'http',
    latencyNs,
    source: client,
    destination: server(dst),
    http: { method: 'GET', url: path, path, code },
    ...(sampling ? { sampling } : {}),
  };
}

const store = (b: Omit<Parameters<typeof encodeBatch>[0], 'nodeName' | 'batchId'>) =>
  storeBatch(db.pool, collectorId, IngestBatch.parse(encodeBatch({ batchId: crypto.randomUUID(), nodeName: 'node-a', ...b })));
const rows = async (service: string) => serviceEndpointSignals(db.pool, { ...window, service, namespace: 'shop' });
const bucketOf = (v: number) => bucketReportValue(bucketIndex(v));
const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  collectorId = (await createCollectorToken(db.prisma, 'endpoints-sampled')).collector.id;
});
afterAll(async () => db?.close());

describe('per-endpoint signals from sampled HTTP records', () => {
  it('weights sampled records so the endpoints add up to the rollups; errors exact', async () => {
    // 1000 × 200 on /a, 3000 × 200 on /b, 10 × 503 on /a: the kernel counts them by status only.
    await store({
      l7Aggregates: [
        aggregate(
          'catalog',
          200,
          range(4000, () => 2_000_000),
        ),
        aggregate(
          'catalog',
          503,
          range(10, () => 40_000_000),
        ),
      ],
      l7: [
        ...range(10, () => record('catalog', '/a', 503, 40_000_000, 'error')),
        ...range(10, () => record('catalog', '/a', 200, 2_000_000, 'sampled')),
        ...range(30, () => record('catalog', '/b', 200, 2_000_000, 'sampled')),
      ],
    });
    const r = await rows('catalog');
    // 2xx: 4000 exchanges, no weight-1 record, 40 sampled → each stands for 100.
    expect(r.endpoints.map((e) => [e.path, e.requests, e.errors, e.records, e.estimated])).toEqual([
      ['/b', 3000, 0, 30, true],
      ['/a', 1010, 10, 20, true],
    ]);
    expect(r.endpoints.reduce((a, e) => a + e.requests, 0)).toBe(4010);
    expect(r.endpoints[1]?.errorRatio).toBe(10 / 1010);
    expect(r.endpoints[0]?.requestsPerSecond).toBe(3000 / 600);
    expect(r.endpoints[1]?.recordShare).toBe(20 / 1010);
    expect(r.http).toEqual({ since: window.since, until: window.until, exchanges: 4010, records: 50, estimated: true });

    // The rollups hold exactly what the endpoints add up to.
    const roll = await db.pool.query(
      `SELECT sum(requests)::int AS n, sum(errors)::int AS e FROM edge_minute WHERE dst_service = 'catalog' AND protocol = 'http'`,
    );
    expect(roll.rows[0]).toEqual({ n: 4010, e: 10 });

    // A window that starts inside the minute: weights still come from whole rollup buckets, applied to the
    // records of the window asked for (here past the 20 records of /a: /b alone, each record still 100).
    const late = await serviceEndpointSignals(db.pool, { since: t + 2_000 + 20, until: now, service: 'catalog', namespace: 'shop' });
    expect(late.endpoints.map((e) => [e.path, e.requests, e.errors, e.records])).toEqual([['/b', 3000, 0, 30]]);
    expect(late.http).toMatchObject({ since: t, exchanges: 4010, records: 50 });
  });

  it('weights percentiles: every slow exchange is kept, yet p95 lands in the bucket of the true p95', async () => {
    // 1960 fast exchanges (5 ms + 5 µs·i) and 40 slow ones (300 ms + 10 ms·i), all 200 on /s.
    const fast = range(1960, (i) => 5_000_000 + 5_000 * i);
    const slow = range(40, (i) => 300_000_000 + 10_000_000 * i);
    const all = [...fast, ...slow].sort((a, b) => a - b);
    const truth = (q: number) => all[Math.ceil(q * all.length) - 1]!;
    // Kept: every slow one ('slow'), and one fast exchange in 49 (the 25th of each run) within the budget.
    const sampled = range(40, (j) => fast[49 * j + 24]!);
    await store({
      l7Aggregates: [aggregate('search', 200, all)],
      l7: [...slow.map((v) => record('search', '/s', 200, v, 'slow')), ...sampled.map((v) => record('search', '/s', 200, v, 'sampled'))],
    });
    const [s] = (await rows('search')).endpoints;
    expect(s?.requests).toBe(2000);
    expect(s?.records).toBe(80);
    // Unweighted, 40 of the 80 records are slow: p50 and p95 would be ≥ 300 ms.
    expect(s?.p50Ns).toBe(bucketOf(truth(0.5)));
    expect(s?.p95Ns).toBe(bucketOf(truth(0.95)));
    expect(s?.p99Ns).toBe(bucketOf(truth(0.99)));
    expect(s?.p95Ns).toBeLessThan(20_000_000);
    expect(s?.p99Ns).toBeGreaterThanOrEqual(300_000_000);
  });

  it('full-path records only: exactly what count(*) and percentile_disc give, nothing estimated', async () => {
    // Mixed classes and latencies, some paths with a template; no aggregates, no sampling.
    const recs = [
      ...range(37, (i) => record('ledger', '/x', i % 9 === 0 ? 500 : 200, 1_000_000 + 731_000 * ((i * 17) % 37))),
      ...range(23, (i) => record('ledger', '/y', i % 5 === 0 ? 404 : 200, 3_000_000 + 1_913_000 * ((i * 7) % 23))),
      ...range(5, (i) => record('ledger', '/z', 503, 90_000_000 + i)),
    ];
    await store({ l7: recs });
    const r = await rows('ledger');
    const old = await db.pool.query(
      `SELECT http_path AS path, count(*)::int AS n, count(*) FILTER (WHERE status_class IN ('5xx', 'error'))::int AS e,
              percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ns) AS pcts
         FROM l7_events WHERE dst_service = 'ledger' GROUP BY 1 ORDER BY n DESC, 1`,
    );
    expect(r.endpoints.map((e) => [e.path, e.requests, e.errors, e.p50Ns, e.p95Ns, e.p99Ns, e.estimated, e.recordShare])).toEqual(
      old.rows.map((o) => [o.path, o.n, o.e, ...(o.pcts as string[]).map((v) => bucketOf(Number(v))), false, 1]),
    );
    expect(r.endpoints.map((e) => [e.path, e.requests, e.errors])).toEqual([
      ['/x', 37, 5],
      ['/y', 23, 0],
      ['/z', 5, 5],
    ]);
    expect(r.http).toMatchObject({ exchanges: 65, records: 65, estimated: false });

    // A service without a namespace: NULL on its records, '' in the rollups and in the question.
    const bare = { ip: '10.2.0.3', port: 8080, service: 'bare' };
    await store({ l7: range(3, (i) => ({ ...record('bare', '/q', 200, 1_000_000 + i), destination: bare })) });
    const b = await serviceEndpointSignals(db.pool, { ...window, service: 'bare', namespace: '' });
    expect(b.endpoints.map((e) => [e.path, e.requests, e.estimated])).toEqual([['/q', 3, false]]);
    expect(b.http).toMatchObject({ exchanges: 3, records: 3, estimated: false });
    expect((await serviceEndpointSignals(db.pool, { ...window, service: 'bare', namespace: 'shop' })).endpoints).toEqual([]);
  });
});
