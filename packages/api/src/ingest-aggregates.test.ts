/**
 * Kernel L7 aggregates through the real ingest endpoint (tRPC over HTTP, embedded PostgreSQL): exchanges are
 * counted exactly once in edge_minute and in Hubble's HTTP metrics whatever is sampled, a replayed batch adds
 * nothing, and a bad aggregate row refuses its whole batch (400 or 413) with nothing stored.
 */
import {
  BATCH_LIMITS,
  encodeBatch,
  type IngestBatchInput,
  type L7AggregateInput,
  type L7EventInput,
  type L7Sampling,
} from '@sextant/shared';
import { httpAggregate } from '@sextant/db/testing';
import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from './root';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './testing/api-harness';
import { metricTotal as metric } from './testing/metrics-text';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ metrics: {} });
});
afterAll(() => h?.close());

const MINUTE = 60_000;
const t = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE;

const aggregate = (src: string, dst: string, code: number, count: number, latencyNs: number) =>
  httpAggregate({
    time: t + 1_000,
    source: { ip: '10.2.0.1', service: src, namespace: 'shop' },
    destination: { ip: '10.2.0.2', port: 8080, service: dst, namespace: 'shop' },
    code,
    count,
    latencyNs,
  });

function record(src: string, dst: string, code: number, latencyNs: number, sampling?: L7Sampling): L7EventInput {
  return {
    id: crypto.randomUUID(),
    flowId: crypto.randomUUID(),
    time: t + 2_000,
    nodeName: 'node-a',
    protocol: 'http',
    latencyNs,
    source: { ip: '10.2.0.1', service: src, namespace: 'shop', process: { name: 'node' } },
    destination: { ip: '10.2.0.2', port: 8080, service: dst, namespace: 'shop' },
    http: { method: 'GET', url: '/x', path: '/x', code },
    ...(sampling ? { sampling } : {}),
  };
}

const batchOf = (l7Aggregates: L7AggregateInput[], l7: L7EventInput[]): IngestBatchInput =>
  encodeBatch({ batchId: crypto.randomUUID(), nodeName: 'node-a', l7Aggregates, l7 });

async function edge(src: string, dst: string) {
  const r = await h.db.pool.query(
    `SELECT coalesce(sum(requests), 0)::int AS requests, coalesce(sum(errors), 0)::int AS errors FROM edge_minute
      WHERE src_service = $1 AND dst_service = $2 AND protocol = 'http'`,
    [src, dst],
  );
  return r.rows[0] as { requests: number; errors: number };
}

const count = async (sql: string, params: unknown[]) => Number((await h.db.pool.query(sql, params)).rows[0].n);

describe('ingest of kernel L7 aggregates', () => {
  it('counts 1000 × 200, 7 × 503 and 3 × 404 once in rollups and metrics, sampled records stored but not counted', async () => {
    const c = h.client(h.collectorToken);
    const b = batchOf(
      [
        aggregate('shop', 'cart', 200, 1000, 2_000_000),
        aggregate('shop', 'cart', 503, 7, 40_000_000),
        aggregate('shop', 'cart', 404, 3, 1_000_000),
      ],
      [
        ...Array.from({ length: 7 }, () => record('shop', 'cart', 503, 40_000_000, 'error')),
        ...Array.from({ length: 3 }, () => record('shop', 'cart', 200, 2_000_000, 'sampled')),
      ],
    );
    expect(await c.ingest.push.mutate(b)).toMatchObject({ stored: true, l7: 10, l7Aggregates: 3 });
    const cart = 'destination_workload="cart"';
    const check = async () => {
      expect(await edge('shop', 'cart')).toEqual({ requests: 1010, errors: 7 });
      expect(await metric('hubble_http_requests_total', cart)).toBe(1010);
      expect(await metric('hubble_http_responses_total', cart, 'status="200"')).toBe(1000);
      expect(await metric('hubble_http_responses_total', cart, 'status="503"')).toBe(7);
      expect(await metric('hubble_http_responses_total', cart, 'status="404"')).toBe(3);
      expect(await metric('hubble_http_request_duration_seconds_count', cart)).toBe(1010);
      expect(await metric('hubble_http_request_duration_seconds_sum', cart)).toBeCloseTo(2 + 0.28 + 0.003, 9);
      expect(await metric('hubble_http_request_duration_seconds_bucket', cart, 'le="+Inf"')).toBe(1010);
      expect(await metric('hubble_flows_processed_total', cart, 'type="L7"')).toBe(1010);
      expect(await metric('sextant_ingest_rows_total', 'kind="l7_aggregates"')).toBe(3);
      expect(await count(`SELECT count(*) AS n FROM l7_events WHERE batch_id = $1 AND sampling IS NOT NULL`, [b.batchId])).toBe(10);
    };
    await check();
    // A retry of the same batch id (its answer was lost): acknowledged, nothing counted again.
    expect(await c.ingest.push.mutate(b)).toMatchObject({ stored: false });
    await check();
  });

  it('adds full-path records and aggregates of one edge sent in one batch', async () => {
    const b = batchOf(
      [aggregate('web', 'api', 200, 20, 1_000_000), aggregate('web', 'api', 500, 2, 1_000_000)],
      [
        ...Array.from({ length: 5 }, () => record('web', 'api', 200, 1_000_000)),
        record('web', 'api', 500, 1_000_000),
        record('web', 'api', 500, 1_000_000, 'error'),
        record('web', 'api', 200, 900_000_000, 'slow'),
      ],
    );
    await h.client(h.collectorToken).ingest.push.mutate(b);
    expect(await edge('web', 'api')).toEqual({ requests: 28, errors: 3 });
    const api = 'destination_workload="api"';
    expect(await metric('hubble_http_requests_total', api)).toBe(28);
    expect(await metric('hubble_http_responses_total', api, 'status="500"')).toBe(3);
    expect(await metric('hubble_http_request_duration_seconds_count', api)).toBe(28);
  });

  it('refuses a batch with a bad aggregate row whole, storing and counting nothing of it', async () => {
    const c = h.client(h.collectorToken);
    const good = () => aggregate('bad', 'sink', 200, 5, 1_000_000);
    const cases: [string, IngestBatchInput, 'BAD_REQUEST' | 'PAYLOAD_TOO_LARGE'][] = [];
    const unknownRef = batchOf([good(), good()], [record('bad', 'sink', 200, 1)]);
    unknownRef.l7Aggregates![1]!.destination = ['10.2.0.2', 8080, unknownRef.endpoints!.length];
    cases.push(['unknown ref', unknownRef, 'BAD_REQUEST']);
    cases.push(['negative count', batchOf([good(), { ...good(), count: -1 }], []), 'BAD_REQUEST']);
    cases.push(['idx/cnt lengths', batchOf([good(), { ...good(), idx: [1, 2] }], []), 'BAD_REQUEST']);
    cases.push(['NUL in method', batchOf([good(), { ...good(), method: 'GE\u0000T' }], [record('bad', 'sink', 200, 1)]), 'BAD_REQUEST']);
    const many = batchOf([good()], []);
    many.l7Aggregates = Array.from({ length: BATCH_LIMITS.maxL7Aggregates + 1 }, () => many.l7Aggregates![0]!);
    cases.push(['too many rows', many, 'PAYLOAD_TOO_LARGE']);
    for (const [what, b, code] of cases) {
      let err: unknown;
      await c.ingest.push.mutate(b).catch((e: unknown) => (err = e));
      expect(err, what).toBeInstanceOf(TRPCClientError);
      expect((err as TRPCClientError<AppRouter>).data?.code, what).toBe(code);
      expect(await count(`SELECT count(*) AS n FROM ingest_receipts WHERE batch_id = $1`, [b.batchId]), what).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM l7_events WHERE batch_id = $1`, [b.batchId]), what).toBe(0);
    }
    expect(await edge('bad', 'sink')).toEqual({ requests: 0, errors: 0 });
    expect(await metric('hubble_http_requests_total', 'destination_workload="sink"')).toBe(0);
  });
});
