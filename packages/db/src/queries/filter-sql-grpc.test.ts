/**
 * gRPC filters in SQL on real PostgreSQL through the real ingest: HTTP/2 exchanges with gRPC details
 * (l7_events.detail) found by `grpcMethod` (service/method or a whole service) and `grpcStatus`, the HTTP
 * flags on HTTP/2 exchanges, and every answer equal to the pure matcher's on the same records.
 */
import { FlowQueryFilter, matchesQuery, type FlowQueryFilterInput, type L7Event } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { storeRecords } from '../ingest/store-batch';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { searchFlows } from './search-flows';

const MIN = 60_000;
let db: TestDatabase;
const now = Math.floor(Date.now() / MIN) * MIN;
let k = 0;
const call = (service: string, method: string, status?: number, message?: string): L7Event => ({
  id: crypto.randomUUID(),
  flowId: crypto.randomUUID(),
  time: now - 5 * MIN + k++,
  nodeName: 'node-a',
  type: 'RESPONSE',
  protocol: 'http',
  latencyNs: 1_000_000,
  source: { ip: '10.0.0.9', port: 40000, service: 'web' },
  destination: { ip: '10.0.0.2', port: 50051, service: 'shop' },
  http: {
    method: 'POST',
    url: `/${service}/${method}`,
    path: `/${service}/${method}`,
    protocol: 'HTTP/2',
    code: 200,
    headers: [],
    streamId: 2 * k + 1,
    grpc: { service, method, ...(status === undefined ? {} : { status }), ...(message ? { message } : {}) },
  },
});
const plain: L7Event = {
  ...call('x', 'y'),
  http: { method: 'GET', url: '/health', path: '/health', protocol: 'HTTP/2', code: 200, headers: [] },
};
const l7: L7Event[] = [
  call('shop.Cart', 'Get', 0),
  call('shop.Cart', 'Get', 5, 'no cart'),
  call('shop.Cart', 'Add', 14),
  call('shop.Pay', 'Charge', 0),
  call('shop.Pay', 'Charge'),
  plain,
];

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  const collectorId = (await createCollectorToken(db.prisma, 'grpc')).collector.id;
  await storeRecords(db.pool, collectorId, { batchId: crypto.randomUUID(), sentAt: now, flows: [], l7, histograms: [] });
});
afterAll(async () => db?.close());

async function search(f: FlowQueryFilterInput): Promise<string[]> {
  const r = await searchFlows(db.pool, { filter: FlowQueryFilter.parse(f), since: now - 10 * MIN, until: now, limit: 100 });
  return r.items.map((i) => (i.kind === 'l7' ? i.event.id : i.flow.id)).sort();
}
const expected = (f: FlowQueryFilterInput) =>
  l7
    .filter((e) => matchesQuery({ kind: 'l7', event: e }, FlowQueryFilter.parse(f)))
    .map((e) => e.id)
    .sort();
const ids = (...i: number[]) => i.map((n) => l7[n]!.id).sort();

describe('gRPC filters in SQL', () => {
  it('finds calls by service/method, by service and by grpc-status, as the matcher does', async () => {
    const cases: [FlowQueryFilterInput, string[]][] = [
      [{ allow: [{ grpcMethod: ['shop.Cart/Get'] }] }, ids(0, 1)],
      [{ allow: [{ grpcMethod: ['shop.Cart'] }] }, ids(0, 1, 2)],
      [{ allow: [{ grpcMethod: ['shop.Pay', 'shop.Cart/Add'] }] }, ids(2, 3, 4)],
      [{ allow: [{ grpcStatus: ['0'] }] }, ids(0, 3)],
      [{ allow: [{ grpcStatus: ['5', '14'] }] }, ids(1, 2)],
      [{ allow: [{ grpcMethod: ['shop.Pay'] }], deny: [{ grpcStatus: ['0'] }] }, ids(4)],
      [{ allow: [{ httpMethod: ['get'], protocol: ['http'] }] }, ids(5)],
      [{ allow: [{ grpcStatus: ['0'], eventType: ['L3_L4'] }] }, []],
    ];
    for (const [f, want] of cases) {
      expect(await search(f), JSON.stringify(f)).toEqual(want);
      expect(expected(f), JSON.stringify(f)).toEqual(want);
    }
  });
  it('stores the gRPC details and classes (grpc-status 14 is a 5xx, 5 a 4xx)', async () => {
    const rows = (await db.pool.query(`SELECT detail->'grpc' AS g, status_class AS c FROM l7_events WHERE detail ? 'grpc' ORDER BY time`))
      .rows;
    expect(rows.map((r) => [r.g.service, r.g.method, r.g.status ?? null, r.c])).toEqual([
      ['shop.Cart', 'Get', 0, '2xx'],
      ['shop.Cart', 'Get', 5, '4xx'],
      ['shop.Cart', 'Add', 14, '5xx'],
      ['shop.Pay', 'Charge', 0, '2xx'],
      ['shop.Pay', 'Charge', null, '2xx'],
    ]);
  });
});
