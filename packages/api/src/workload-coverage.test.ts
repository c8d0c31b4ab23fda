/**
 * L7 decode coverage per workload through the real ingest endpoint (tRPC over HTTP, embedded PostgreSQL):
 * generated connections of every class → `coverage.workloads` and `sextant_l7_coverage_connections_total` exact
 * per workload and class, a replay adds nothing, and a row with a class that does not exist refuses its whole
 * batch (400) with nothing stored or counted.
 */
import { encodeBatch, L7_COVERAGE_CLASSES, type FlowInput, type IngestBatchInput, type L7CoverageClass } from '@sextant/shared';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from './root';
import { startHarness, type Harness } from './testing/api-harness';
import { metricTotal as metric } from './testing/metrics-text';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ metrics: {} });
});
afterAll(() => h?.close());

const MINUTE = 60_000;
const t = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE;
const ep = (service: string, ip: string, port?: number) => ({ ip, service, namespace: 'shop', ...(port ? { port } : {}) });

function conn(src: string, dst: string, cls: L7CoverageClass | undefined, over: Partial<FlowInput> = {}): FlowInput {
  return {
    id: crypto.randomUUID(),
    time: t + 1_000,
    nodeName: 'node-a',
    verdict: 'FORWARDED',
    l4Protocol: 'TCP',
    ipVersion: 4,
    source: ep(src, '10.3.0.1'),
    destination: ep(dst, '10.3.0.2', 443),
    trafficDirection: 'EGRESS',
    closeReason: 'CLOSED',
    ...(cls ? { l7Coverage: cls } : {}),
    ...over,
  };
}
const times = (n: number, f: () => FlowInput) => Array.from({ length: n }, f);
const batchOf = (flows: FlowInput[]): IngestBatchInput => encodeBatch({ batchId: crypto.randomUUID(), nodeName: 'node-a', flows });

const M = 'sextant_l7_coverage_connections_total';

describe('L7 decode coverage per workload over the API', () => {
  it('counts connections per workload and class in the query and the metric, once per stored batch', async () => {
    const c = h.client(h.collectorToken);
    const b = batchOf([
      ...times(6, () => conn('checkout', 'payments', 'tls-node')),
      ...times(3, () => conn('checkout', 'bank-gw', 'tls-undecoded')),
      ...times(2, () => conn('checkout', 'stock', 'cleartext')),
      ...times(2, () => conn('checkout', 'stock', 'http2-undecodable')),
      conn('checkout', 'stock', 'http2-midstream'),
      conn('checkout', 'stock', 'cleartext', { final: false }), // interim report: not a connection yet
      conn('checkout', 'stock', 'cleartext', { localPeer: true, trafficDirection: 'INGRESS' }), // its client reports it
      ...times(5, () => conn('checkout', 'stock', undefined)), // no payload
    ]);
    expect(await c.ingest.push.mutate(b)).toMatchObject({ stored: true, flows: 21 });
    const check = async () => {
      const r = await h.client(h.userToken).coverage.workloads.query({ window: { since: t - MINUTE, until: t + 2 * MINUTE } });
      const checkout = r.workloads.find((w) => w.service === 'checkout')!;
      expect(checkout.connections).toEqual({
        cleartext: 2,
        'tls-openssl': 0,
        'tls-node': 6,
        'tls-undecoded': 3,
        'http2-undecodable': 2,
        'http2-midstream': 1,
        unrecognized: 0,
      });
      expect([checkout.total, checkout.decoded]).toEqual([14, 8]);
      expect(r.workloads.map((w) => [w.service, w.total])).toEqual([
        ['checkout', 14],
        ['payments', 6],
        ['stock', 5],
        ['bank-gw', 3],
      ]);
      const panel = await h.client(h.userToken).coverage.workloads.query({ service: 'bank-gw', namespace: 'shop' });
      expect(panel.workloads.map((w) => [w.service, w.connections['tls-undecoded'], w.decoded])).toEqual([['bank-gw', 3, 0]]);
      expect(await metric(M, 'service="checkout"', 'class="tls-node"')).toBe(6);
      expect(await metric(M, 'service="checkout"', 'class="tls-undecoded"')).toBe(3);
      expect(await metric(M, 'service="bank-gw"', 'class="tls-undecoded"', 'namespace="shop"')).toBe(3);
      expect(await metric(M, 'service="stock"', 'class="cleartext"')).toBe(2);
      expect(await metric(M, 'service="stock"', 'class="http2-undecodable"')).toBe(2);
      expect(await metric(M, 'service="stock"', 'class="http2-midstream"')).toBe(1);
      expect(await metric(M, 'service="checkout"')).toBe(14);
      expect(await metric(M)).toBe(28);
    };
    await check();
    // A retry of the same batch id: acknowledged, nothing counted again.
    expect(await c.ingest.push.mutate(b)).toMatchObject({ stored: false });
    await check();
  });

  it('refuses a batch with an unknown class whole (400): nothing stored, nothing counted', async () => {
    const b = batchOf([conn('bad', 'sink', 'cleartext'), conn('bad', 'sink', 'tls-openssl')]);
    const rows = b.flows as unknown[][];
    rows[1]![rows[1]!.length - 1] = 'tls-go';
    let err: unknown;
    await h
      .client(h.collectorToken)
      .ingest.push.mutate(b)
      .catch((e: unknown) => (err = e));
    expect(err).toBeInstanceOf(TRPCClientError);
    expect((err as TRPCClientError<AppRouter>).data?.code).toBe('BAD_REQUEST');
    const n = await h.db.pool.query(`SELECT count(*)::int AS n FROM ingest_receipts WHERE batch_id = $1`, [b.batchId]);
    expect(n.rows[0].n).toBe(0);
    const cov = await h.db.pool.query(`SELECT count(*)::int AS n FROM l7_coverage_minute WHERE src_service = 'bad'`);
    expect(cov.rows[0].n).toBe(0);
    expect(await metric(M, 'service="bad"')).toBe(0);
    expect(L7_COVERAGE_CLASSES).not.toContain('tls-go');
  });
});
