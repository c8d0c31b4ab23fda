/**
 * Kernel L7 aggregates (batch schema 4, docs/l7-line-rate.md) through storeBatch on real PostgreSQL: folded into
 * edge_minute with their status class from the protocol registry, records that carry `sampling` stored (and
 * read back with it) but not counted again, full-path records and aggregates adding up, receipts idempotent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch, IngestBatch, SELF_LABEL, type L7EventInput, type L7Sampling } from '@sextant/shared';
import { createCollectorToken } from '../auth/collectors';
import { httpAggregate } from '../fixtures/l7-aggregate';
import { recordFromRow } from '../queries/read-rows';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { storeBatch } from './store-batch';

let db: TestDatabase;
let collectorId: string;

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  collectorId = (await createCollectorToken(db.prisma, 'aggregates-test')).collector.id;
});
afterAll(async () => db?.close());

const MINUTE = 60_000;
/** A whole minute a few minutes ago: inside the ingest window, away from the current minute's edge. */
const minuteAt = (ago: number) => Math.floor(Date.now() / MINUTE) * MINUTE - ago * MINUTE;

const client = (service: string, labels?: string[]) => ({ ip: '10.1.0.1', service, ...(labels ? { labels } : {}) });
const server = (service: string) => ({ ip: '10.1.0.2', port: 8080, service });

// Every exchange of the row took latencyNs: one histogram bucket, an exact sum.
const aggregate = (src: string, dst: string, time: number, code: number, count: number, latencyNs: number) =>
  httpAggregate({ time, source: client(src), destination: server(dst), code, count, latencyNs });

function record(src: string, dst: string, time: number, code: number, sampling?: L7Sampling): L7EventInput {
  return {
    id: crypto.randomUUID(),
    flowId: crypto.randomUUID(),
    time,
    nodeName: 'node-a',
    protocol: 'http',
    latencyNs: 3_000_000,
    source: client(src),
    destination: server(dst),
    http: { method: 'GET', url: '/items', path: '/items', code },
    ...(sampling ? { sampling } : {}),
  };
}

const parse = (b: Parameters<typeof encodeBatch>[0]) => IngestBatch.parse(encodeBatch({ nodeName: 'node-a', ...b }));

async function edges(src: string, dst: string) {
  const r = await db.pool.query(
    `SELECT (extract(epoch FROM bucket) * 1000)::bigint AS bucket, status_class, requests, errors, latency_sum_ns,
            (SELECT coalesce(sum(c), 0) FROM unnest(hist_cnt) c) AS hist_total
       FROM edge_minute WHERE src_service = $1 AND dst_service = $2 AND protocol = 'http' ORDER BY bucket, status_class`,
    [src, dst],
  );
  return r.rows.map((x) => ({
    bucket: Number(x.bucket),
    statusClass: x.status_class as string,
    requests: Number(x.requests),
    errors: Number(x.errors),
    latencySumNs: Number(x.latency_sum_ns),
    histTotal: Number(x.hist_total),
  }));
}

describe('kernel L7 aggregates at ingest', () => {
  it('counts 1000 × 200, 7 × 503 and 3 × 404 exactly once, with the 503s and some 200s stored as sampled records', async () => {
    const t = minuteAt(3);
    const batch = parse({
      batchId: crypto.randomUUID(),
      l7Aggregates: [
        aggregate('shop', 'cart', t + 5_000, 200, 1000, 2_000_000),
        aggregate('shop', 'cart', t + 5_000, 503, 7, 40_000_000),
        aggregate('shop', 'cart', t + 15_000, 404, 3, 1_000_000),
      ],
      l7: [
        ...Array.from({ length: 7 }, (_, i) => record('shop', 'cart', t + 6_000 + i, 503, 'error')),
        ...Array.from({ length: 3 }, (_, i) => record('shop', 'cart', t + 7_000 + i, 200, 'sampled')),
      ],
    });
    const res = await storeBatch(db.pool, collectorId, batch);
    expect(res).toMatchObject({ stored: true, l7: 10, l7Aggregates: 3, flows: 0 });
    const expected = [
      { bucket: t, statusClass: '2xx', requests: 1000, errors: 0, latencySumNs: 2_000_000_000, histTotal: 1000 },
      { bucket: t, statusClass: '4xx', requests: 3, errors: 0, latencySumNs: 3_000_000, histTotal: 3 },
      { bucket: t, statusClass: '5xx', requests: 7, errors: 7, latencySumNs: 280_000_000, histTotal: 7 },
    ];
    expect(await edges('shop', 'cart')).toEqual(expected);
    const total = (await edges('shop', 'cart')).reduce((a, r) => ({ requests: a.requests + r.requests, errors: a.errors + r.errors }), {
      requests: 0,
      errors: 0,
    });
    expect(total).toEqual({ requests: 1010, errors: 7 });

    // The records are stored with their sampling and read back with it.
    const rows = await db.pool.query(
      `SELECT (extract(epoch FROM time) * 1000000)::bigint AS t_us, to_jsonb(l) AS row FROM l7_events l WHERE batch_id = $1 ORDER BY time`,
      [batch.batchId],
    );
    const events = rows.rows.map((r) => recordFromRow('l7_events', r.t_us, r.row));
    expect(events.map((e) => (e.kind === 'l7' ? [e.event.http?.code, e.event.sampling] : null))).toEqual([
      ...Array.from({ length: 7 }, () => [503, 'error']),
      ...Array.from({ length: 3 }, () => [200, 'sampled']),
    ]);

    // The same batch again (a retry after a lost answer): nothing is counted or stored twice.
    expect(await storeBatch(db.pool, collectorId, batch)).toMatchObject({ stored: false });
    expect(await edges('shop', 'cart')).toEqual(expected);
    const n = await db.pool.query(`SELECT count(*) AS n FROM l7_events WHERE batch_id = $1`, [batch.batchId]);
    expect(Number(n.rows[0].n)).toBe(10);
  });

  it('adds full-path records (no sampling) and aggregates of one edge in one batch', async () => {
    const t = minuteAt(4);
    const batch = parse({
      batchId: crypto.randomUUID(),
      l7Aggregates: [aggregate('web', 'api', t + 1_000, 200, 20, 1_000_000), aggregate('web', 'api', t + 2_000, 500, 2, 1_000_000)],
      l7: [
        ...Array.from({ length: 5 }, (_, i) => record('web', 'api', t + 3_000 + i, 200)),
        record('web', 'api', t + 4_000, 500),
        record('web', 'api', t + 4_001, 500, 'error'),
        record('web', 'api', t + 4_002, 200, 'slow'),
      ],
    });
    await storeBatch(db.pool, collectorId, batch);
    expect(await edges('web', 'api')).toEqual([
      // 20 aggregated + 5 full-path records (1 ms and 3 ms each)
      { bucket: t, statusClass: '2xx', requests: 25, errors: 0, latencySumNs: 20_000_000 + 15_000_000, histTotal: 25 },
      // 2 aggregated + 1 full-path record; the record sampled as an error is one of the 2
      { bucket: t, statusClass: '5xx', requests: 3, errors: 3, latencySumNs: 2_000_000 + 3_000_000, histTotal: 3 },
    ]);
    const stored = await db.pool.query(
      `SELECT sampling, count(*)::int AS n FROM l7_events WHERE batch_id = $1 GROUP BY sampling ORDER BY sampling NULLS FIRST`,
      [batch.batchId],
    );
    expect(stored.rows).toEqual([
      { sampling: null, n: 6 },
      { sampling: 'error', n: 1 },
      { sampling: 'slow', n: 1 },
    ]);
  });

  it('puts aggregates’ request and response bytes where full-path records’ go: the same exchanges, the same edge bytes', async () => {
    const t = minuteAt(6);
    // 6 exchanges of known sizes: as full-path records on one edge, as the kernel's aggregates on another (a 200 row,
    // a 404 row, and a bytes-only row: later response chunks of a 200 counted in an earlier window)
    const sizes: [number, number, number][] = [
      [200, 120, 5_000],
      [200, 95, 70_000],
      [200, 300, 12],
      [404, 80, 150],
      [404, 81, 151],
      [200, 1_000, 65_536],
    ];
    const records = sizes.map(([code, req, res], i) => {
      const r = record('full-a', 'full-b', t + 1_000 + i, code);
      return { ...r, http: { ...r.http!, requestBytes: req, responseBytes: res } };
    });
    const sum = (code: number, k: 1 | 2) => sizes.filter((x) => x[0] === code).reduce((a, x) => a + x[k], 0);
    const ok = aggregate('agg-a', 'agg-b', t + 1_000, 200, 4, 3_000_000);
    const laterChunks = 40_000;
    const aggs = [
      { ...ok, requestBytes: sum(200, 1), responseBytes: sum(200, 2) - laterChunks },
      { ...aggregate('agg-a', 'agg-b', t + 1_000, 404, 2, 3_000_000), requestBytes: sum(404, 1), responseBytes: sum(404, 2) },
      {
        ...aggregate('agg-a', 'agg-b', t + 11_000, 200, 0, 0),
        idx: [],
        cnt: [],
        requestBytes: 0,
        responseBytes: laterChunks,
        tls: 'openssl' as const,
      },
    ];
    await storeBatch(db.pool, collectorId, parse({ batchId: crypto.randomUUID(), l7: records }));
    await storeBatch(db.pool, collectorId, parse({ batchId: crypto.randomUUID(), l7Aggregates: aggs }));
    const bytes = async (src: string, dst: string) =>
      (
        await db.pool.query(
          `SELECT status_class, requests::int, bytes_sent::int, bytes_received::int FROM edge_minute
            WHERE src_service = $1 AND dst_service = $2 AND protocol = 'http' ORDER BY status_class`,
          [src, dst],
        )
      ).rows;
    const expected = [
      { status_class: '2xx', requests: 4, bytes_sent: 120 + 95 + 300 + 1_000, bytes_received: 5_000 + 70_000 + 12 + 65_536 },
      { status_class: '4xx', requests: 2, bytes_sent: 161, bytes_received: 301 },
    ];
    expect(await bytes('full-a', 'full-b')).toEqual(expected);
    expect(await bytes('agg-a', 'agg-b')).toEqual(expected);
  });

  it("records an aggregate endpoint of Sextant's own process as a self service, and its services as seen", async () => {
    const t = minuteAt(5);
    const self = { ...aggregate('sextant-web', 'sextant-postgres', t, 200, 4, 1_000_000), source: client('sextant-web', [SELF_LABEL]) };
    await storeBatch(db.pool, collectorId, parse({ batchId: crypto.randomUUID(), l7Aggregates: [self] }));
    const r = await db.pool.query(
      `SELECT name, kind FROM services WHERE name IN ('sextant-web', 'sextant-postgres', 'shop') ORDER BY name`,
    );
    expect(r.rows).toEqual([
      { name: 'sextant-postgres', kind: 'service' },
      { name: 'sextant-web', kind: 'self' },
      { name: 'shop', kind: 'service' },
    ]);
  });
});
